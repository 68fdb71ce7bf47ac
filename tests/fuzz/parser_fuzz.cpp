// libFuzzer target: arbitrary bytes into the parser (and, when they parse, the printer and a
// second parse of the printed text, which must succeed).

#include "teamflow/dsl/parser.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace teamflow::dsl;
    SourceManager sources;
    const FileId id =
        sources.add("fuzz.flow", std::string(reinterpret_cast<const char*>(data), size));
    Ast ast;
    DiagnosticSink sink;
    if (!parse_file(sources, id, ast, sink)) {
        return 0;
    }
    // A clean parse must print to text that parses again, to the same printed form.
    const std::string printed = print_ast(ast);
    SourceManager again_sources;
    const FileId again_id = again_sources.add("printed.flow", printed);
    Ast again;
    DiagnosticSink again_sink;
    if (!parse_file(again_sources, again_id, again, again_sink) || print_ast(again) != printed) {
        std::abort();
    }
    return 0;
}
