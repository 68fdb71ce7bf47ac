// teamflow-bench SUBCOMMAND [options]: benchmarks that print figures beside a baseline.

#include "bench.hpp"

#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
    if (argc < 2 || std::strcmp(argv[1], "--help") == 0) {
        std::fprintf(stderr, "usage: teamflow-bench check [--modules N] [--repeat R]\n");
        return argc < 2 ? 2 : 0;
    }
    if (std::strcmp(argv[1], "check") == 0) {
        return run_check_bench(argc - 1, argv + 1);
    }
    std::fprintf(stderr, "teamflow-bench: unknown benchmark '%s'\n", argv[1]);
    return 2;
}
