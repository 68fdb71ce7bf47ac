#pragma once
/// Subcommands of `teamflow-bench`; each prints JSON lines with its figures.

int run_check_bench(int argc, char** argv);
/// `render`: DOT generation and SVG layout of generated blueprints of 10, 100 and 500 states.
int run_render_bench(int argc, char** argv);
/// `engine`: the Acme DealPipeline lifecycle on the in-memory store (transitions/s, listing, memory).
int run_engine_bench(int argc, char** argv);
/// `sqlite`: DealPipeline transitions through the SQLite store beside the same SQL in a plain loop.
int run_sqlite_bench(int argc, char** argv);
/// `pg`: DealPipeline transitions through the PostgreSQL store beside pgbench running the same SQL.
int run_pg_bench(int argc, char** argv);
