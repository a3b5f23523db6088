// The two sides of the word-size test (word_size_side.cpp, compiled once per
// word size): format a region with one configuration, attach with the other.
#pragma once

#include <cstddef>

namespace weft_word_size {

unsigned side_word_bits_64();
std::size_t log_bytes_64();
std::size_t table_bytes_64();
const char* format_log_64(void* region, std::size_t bytes);
const char* attach_log_64(void* region, std::size_t bytes);
const char* format_table_64(void* region, std::size_t bytes);
const char* attach_table_64(void* region, std::size_t bytes);

unsigned side_word_bits_32();
std::size_t log_bytes_32();
std::size_t table_bytes_32();
const char* format_log_32(void* region, std::size_t bytes);
const char* attach_log_32(void* region, std::size_t bytes);
const char* format_table_32(void* region, std::size_t bytes);
const char* attach_table_32(void* region, std::size_t bytes);

}  // namespace weft_word_size
