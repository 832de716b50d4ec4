// Compiled with include/ only on the path (issue #13 part 4): dtcp/sockets.hpp must stand alone,
// reaching no header under src/.
#include "dtcp/sockets.hpp"
