from memalign_bench.cli import main

main()
