"""Writes the demo task shipped in the package: src/memalign/demo/support_policy.jsonl.

SYNTHETIC data written for memalign. A support team's house rules that a generic judge cannot
know, each checkable on the surface of the reply (the local 1.5B model can see them once told):
  apology     the reply opens with an apology
  ticket      the reply quotes the customer's ticket number (#NNNN)
  no_dates    no exact calendar dates; relative time frames only
  competitor  never name a competitor
A reply passes when it follows all four; each failing reply breaks exactly one rule.
20 feedback records (8 pass, 3 per rule fail) and 40 test cases (20 pass, 5 per rule fail).
Deterministic: python scripts/make_demo_data.py rewrites the same bytes.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

ISSUES = [
    (
        "I was charged twice for order {order}.",
        "the duplicate charge has been refunded",
        "refunds usually reach your account",
    ),
    (
        "My parcel for order {order} has not arrived.",
        "a replacement parcel is on its way",
        "it should reach you",
    ),
    (
        "The blender I bought (order {order}) stopped working.",
        "a free repair is booked",
        "the courier will collect it",
    ),
    (
        "I cannot log in to my account since the update.",
        "your password reset link is active",
        "you can log in again",
    ),
    (
        "My discount code was not applied to order {order}.",
        "the discount has been credited",
        "you will see the credit",
    ),
    (
        "I want to cancel my subscription.",
        "your subscription is cancelled",
        "the final invoice will arrive",
    ),
    (
        "The jacket from order {order} is the wrong size.",
        "an exchange has been arranged",
        "the new size will ship",
    ),
    (
        "The app crashes when I open my orders.",
        "a fix has been released",
        "the update will install",
    ),
    (
        "I was promised a callback that never came.",
        "a senior agent has your case",
        "they will call you",
    ),
    (
        "My gift card balance shows zero.",
        "your balance has been restored",
        "it will show in the app",
    ),
]
APOLOGIES = [
    "Sorry for the trouble with this.",
    "We apologise for the inconvenience.",
    "I'm sorry this happened.",
    "Apologies for the hassle.",
]
OPENERS = [
    "Thanks for reaching out.",
    "Thank you for your message.",
    "Good news on this one.",
    "Here is an update.",
]
RELATIVE = [
    "within 3 business days",
    "within 48 hours",
    "in the next few days",
    "by the end of next week",
]
EXACT = ["on 14 March", "on June 3rd", "by 12/05/2026", "on Friday 9 May"]
COMPETITORS = [
    "Unlike ShopRite Express, we",
    "Faster than QuickCart would, we",
    "Like DealHub, we",
    "Unlike ParcelPal, we",
]
CLOSERS = [
    "Let us know if there is anything else.",
    "We're here if you need us.",
    "Reply to this email any time.",
]
RULE_FEEDBACK = {
    "apology": [
        "Fail: the reply does not open with an apology. Every reply must start by apologising.",
        "It jumps straight into the fix; our policy is to open with an apology first.",
        "Missing the opening apology, which we require in every reply.",
    ],
    "ticket": [
        "Fail: no ticket number. Every reply must quote the customer's ticket number.",
        "The customer cannot trace this without the ticket number; always quote it.",
        "Good tone, but it never quotes the ticket number, which is mandatory.",
    ],
    "no_dates": [
        "Fail: it promises an exact date. Use relative time frames, never calendar dates.",
        "Exact calendar dates create commitments we cannot keep; say 'within N days' instead.",
        "Never give a specific date; a relative time frame is required.",
    ],
    "competitor": [
        "Fail: it names a competitor. We never mention competitors in replies.",
        "Mentioning another company by name breaks our policy, even as a comparison.",
        "No competitor names in customer replies, ever.",
    ],
}
PASS_FEEDBACK = [
    "Pass: opens with an apology, quotes the ticket number, relative time frame, no competitors.",
    "Meets every house rule: apology first, ticket number, no exact dates, no competitor names.",
    "Good reply: apologises first, quotes the ticket, keeps timing relative.",
]


def reply(rng: random.Random, issue: tuple[str, str, str], ticket: str, broken: str | None) -> str:
    _, fix, when = issue
    parts = [rng.choice(OPENERS) if broken == "apology" else rng.choice(APOLOGIES)]
    ticket_text = "" if broken == "ticket" else f"Regarding ticket {ticket}: "
    subject = (
        f"{rng.choice(COMPETITORS)} can confirm that {fix}."
        if broken == "competitor"
        else f"We can confirm that {fix}."
    )
    parts.append(ticket_text + subject)
    timing = rng.choice(EXACT) if broken == "no_dates" else rng.choice(RELATIVE)
    parts.append(f"{when.capitalize()} {timing}.")
    parts.append(rng.choice(CLOSERS))
    return " ".join(parts)


def make(rng: random.Random, split: str, index: int, broken: str | None) -> dict[str, object]:
    issue = rng.choice(ISSUES)
    order = str(rng.randint(10000, 99999))
    ticket = f"#{rng.randint(1000, 9999)}"
    message = issue[0].format(order=order)
    item: dict[str, object] = {
        "id": f"demo-{split}-{index:03d}",
        "split": split,
        "inputs": {"ticket": ticket, "customer_message": message},
        "outputs": reply(rng, issue, ticket, broken),
        "label": "Fail" if broken else "Pass",
        "broken_rule": broken,
        "annotator": rng.choice(["maria", "tom"]),
    }
    if split == "train":
        item["feedback"] = rng.choice(RULE_FEEDBACK[broken] if broken else PASS_FEEDBACK)
    return item


def main() -> None:
    rng = random.Random(20261124)
    rules = list(RULE_FEEDBACK)
    train_plan: list[str | None] = [None] * 8 + [r for r in rules for _ in range(3)]
    test_plan: list[str | None] = [None] * 20 + [r for r in rules for _ in range(5)]
    rng.shuffle(train_plan)
    rng.shuffle(test_plan)
    items = [make(rng, "train", i, b) for i, b in enumerate(train_plan, 1)]
    items += [make(rng, "test", i, b) for i, b in enumerate(test_plan, 1)]
    out = Path(__file__).resolve().parents[1] / "src/memalign/demo/support_policy.jsonl"
    out.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items))
    print(f"wrote {len(items)} items to {out}")


if __name__ == "__main__":
    main()
