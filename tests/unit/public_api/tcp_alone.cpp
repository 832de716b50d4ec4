// Compiled with include/ only on the path (issue #13 part 4): dtcp/tcp.hpp must stand alone,
// reaching no header under src/.
#include "dtcp/tcp.hpp"
