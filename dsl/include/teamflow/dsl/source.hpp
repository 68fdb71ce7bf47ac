#pragma once
/// Source files of a definition set, and cheap byte-offset locations inside them.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace teamflow::dsl {

/// Index of a file inside a SourceManager.
using FileId = std::uint32_t;

/// A half-open byte range [begin, end) inside one file.
struct SourceRange {
    FileId file = 0;
    std::uint32_t begin = 0;
    std::uint32_t end = 0;
    friend bool operator==(const SourceRange&, const SourceRange&) = default;
};

/// A 1-based line and column; the column counts Unicode code points, not bytes.
struct LineColumn {
    std::uint32_t line = 1;
    std::uint32_t column = 1;
};

/// One source file: its display path, its text and where its lines start.
class SourceFile {
public:
    SourceFile(std::string path, std::string text);
    const std::string& path() const { return path_; }
    const std::string& text() const { return text_; }
    /// Line and column (1-based, code points) of a byte offset.
    LineColumn line_column(std::uint32_t offset) const;
    /// The text of a 1-based line, without its line ending.
    std::string_view line_text(std::uint32_t line) const;
    std::uint32_t line_count() const { return static_cast<std::uint32_t>(line_starts_.size()); }

private:
    std::string path_;
    std::string text_;
    std::vector<std::uint32_t> line_starts_;
};

/// Owns every file of a definition set; FileIds index into it.
class SourceManager {
public:
    /// Adds a file and returns its id.
    FileId add(std::string path, std::string text);
    const SourceFile& file(FileId id) const { return files_[id]; }
    std::size_t size() const { return files_.size(); }
    const std::vector<SourceFile>& files() const { return files_; }

private:
    std::vector<SourceFile> files_;
};

/// True when `text` is valid UTF-8; otherwise `bad_offset` is set to the first bad byte.
bool is_valid_utf8(std::string_view text, std::size_t* bad_offset = nullptr);

} // namespace teamflow::dsl
