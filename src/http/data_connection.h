#pragma once

#include "http/connection.h"
#include "http/data_plane.h"
#include "http/deadlines.h"
#include "http/executor.h"

namespace tollgate {

// Serves one client connection of the data plane until the peer closes, asks
// to close, or a limit or deadline ends it.
Task<void> serve_data_connection(Socket socket, DataPlane& plane, Deadlines& deadlines,
                                 const ConnectionLimits& limits);

}  // namespace tollgate
