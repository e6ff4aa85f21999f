// Random identifiers.
#ifndef FOLLOWGATE_SERVER_BASE_UUID_H_
#define FOLLOWGATE_SERVER_BASE_UUID_H_

#include <string>

namespace followgate {

// A random (version 4) UUID in its canonical text form. Thread-safe.
std::string NewUuid();

}  // namespace followgate

#endif  // FOLLOWGATE_SERVER_BASE_UUID_H_
