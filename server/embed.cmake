# Turns a file into a C++ source defining `openapi_json_data` and `openapi_json_size`.
# Usage: cmake -DINPUT=server/openapi.json -DOUTPUT=openapi_json.cpp -P embed.cmake
# With -DNAME=web_index_html the symbols are `web_index_html_data` and `web_index_html_size`.
if(NOT DEFINED NAME)
    set(NAME openapi_json)
endif()
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)"
       "\\1\n" bytes "${bytes}")
file(WRITE "${OUTPUT}.tmp"
"// Generated from ${INPUT}; do not edit.\n#include <cstddef>\nnamespace teamflow::server {\n"
"extern const unsigned char ${NAME}_data[];\nextern const std::size_t ${NAME}_size;\n"
"const unsigned char ${NAME}_data[] = {\n${bytes}0x00};\n"
"const std::size_t ${NAME}_size = ${size};\n} // namespace teamflow::server\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
