// The stack's time types are public (applications pass and receive them): see dtcp/time.hpp.
#pragma once

#include "dtcp/time.hpp"
