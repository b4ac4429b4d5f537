#include "limits/token_bucket.h"

#include <gtest/gtest.h>
