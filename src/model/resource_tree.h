#pragma once

// An API's resources as a file declares them (a `tollgate apply` YAML or an
// OpenAPI definition): methods by path, the tree between them implied.

#include <map>
#include <string>
#include <vector>

#include "model/types.h"

namespace tollgate {

// Path ("/pets/{petId}") → method ("GET", "ANY") → Method.
using PathMethods = std::map<std::string, std::map<std::string, Method>>;

// The resources serving `paths`, the root and every parent between included.
// A path that is also among `existing` keeps that resource's id; others get
// new ones. Throws std::invalid_argument naming the path when one cannot be
// a route: an empty or invalid path part, a child of a greedy {proxy+}, or
// two different {params} under one parent.
std::vector<Resource> build_resource_tree(const PathMethods& paths,
                                          const std::vector<Resource>& existing);

// The methods of `resources` by path: what build_resource_tree takes.
PathMethods path_methods_of(const std::vector<Resource>& resources);

}  // namespace tollgate
