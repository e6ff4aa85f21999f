// Escaping for the CLI's JSON lines and CSV output.
#ifndef FOLLOWGATE_CLIENT_JSON_TEXT_H_
#define FOLLOWGATE_CLIENT_JSON_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace followgate::cli {

// Appends `s` as a JSON string literal.
void AppendJsonString(absl::string_view s, std::string* out);
// Appends `s` as a CSV field, quoted when it holds a comma, quote or newline.
void AppendCsvField(absl::string_view s, std::string* out);

}  // namespace followgate::cli

#endif  // FOLLOWGATE_CLIENT_JSON_TEXT_H_
