#pragma once
/// Subcommands of `teamflow-bench`; each prints JSON lines with its figures.

int run_check_bench(int argc, char** argv);
