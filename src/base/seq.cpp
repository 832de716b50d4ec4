#include "base/seq.hpp"

#include <ostream>

namespace dtcp {

std::ostream& operator<<(std::ostream& os, SeqNum s) { return os << "seq " << s.value(); }

std::ostream& operator<<(std::ostream& os, SeqLen l) { return os << "len " << l.value(); }

}  // namespace dtcp
