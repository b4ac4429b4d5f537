#pragma once

#include <pthread.h>

namespace tollgate {

// Names the calling thread as `top -H`, `perf` and /proc/PID/task/*/comm
// show it: at most 15 characters.
inline void name_this_thread(const char* name) { pthread_setname_np(pthread_self(), name); }

}  // namespace tollgate
