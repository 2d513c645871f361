from memalign.providers.local.llamacpp import grammar_schema


def test_enums_the_grammar_converter_would_break_are_left_free() -> None:
    ids = {"type": "string", "enum": ["r1", "ü-2", "it's"]}
    quoted = {"type": "string", "enum": ["r1", 'ticket "7"']}
    schema = {
        "type": "object",
        "properties": {
            "ok": ids,
            "sources": {"type": "array", "maxItems": 2, "items": quoted},
            "slash": {"type": "string", "enum": ["a\\b"]},
            "tab": {"type": "string", "enum": ["a\tb"]},
            "scale": {"type": "integer", "enum": [1, 2, 3]},
            "enum": {"type": "string", "enum": ['x"y']},
        },
        "required": ["ok"],
    }
    safe = grammar_schema(schema)
    props = safe["properties"]
    assert props["ok"] == ids
    assert props["sources"] == {"type": "array", "maxItems": 2, "items": {"type": "string"}}
    assert props["slash"] == props["tab"] == {"type": "string"}
    assert props["scale"] == {"type": "integer", "enum": [1, 2, 3]}
    assert props["enum"] == {"type": "string"}  # a property's name is not the keyword
    assert safe["required"] == ["ok"]
    assert schema["properties"]["sources"]["items"] == quoted  # the caller's schema is untouched
