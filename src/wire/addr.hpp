// The address types are public (the API names endpoints with them): see dtcp/address.hpp.
#pragma once

#include "dtcp/address.hpp"
