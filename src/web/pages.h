#pragma once

// The pages tollgate serves, built from web/src and the pinned npm packages
// by web/build.mjs into the binary: they need no network.

#include <string_view>

namespace tollgate {

// The customer usage page (http/usage_page.h).
extern const std::string_view kUsagePageHtml;
// The owner console, once signed in (admin/console.h).
extern const std::string_view kConsolePageHtml;

}  // namespace tollgate
