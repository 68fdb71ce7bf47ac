// teamflow-bench SUBCOMMAND [options]: benchmarks that print figures beside a baseline.

#include "bench.hpp"

#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
    if (argc < 2 || std::strcmp(argv[1], "--help") == 0) {
        std::fprintf(stderr, "usage: teamflow-bench check [--modules N] [--repeat R]\n"
                              "       teamflow-bench sqlite [--records N] [--dir TMPDIR]\n"
                              "       teamflow-bench pg [--url URL] [--seconds S] [--clients 1,8,32]\n"
                              "       teamflow-bench engine [--records N] [--listings N]\n"
                              "       teamflow-bench render [--states 10,100,500] [--repeat R]\n");
        return argc < 2 ? 2 : 0;
    }
    if (std::strcmp(argv[1], "engine") == 0) {
        return run_engine_bench(argc - 1, argv + 1);
    }
    if (std::strcmp(argv[1], "sqlite") == 0) {
        return run_sqlite_bench(argc - 1, argv + 1);
    }
    if (std::strcmp(argv[1], "pg") == 0) {
        return run_pg_bench(argc - 1, argv + 1);
    }
    if (std::strcmp(argv[1], "check") == 0) {
        return run_check_bench(argc - 1, argv + 1);
    }
    if (std::strcmp(argv[1], "render") == 0) {
        return run_render_bench(argc - 1, argv + 1);
    }
    std::fprintf(stderr, "teamflow-bench: unknown benchmark '%s'\n", argv[1]);
    return 2;
}
