// merge_prometheus_families: one Prometheus text exposition from several
// (one Metrics::render per loaded model), each metric family once. The
// format allows a family's HELP / TYPE lines only once, so the samples of
// every text are gathered under the family's first header, families in the
// order they first appear. One text comes back unchanged; none gives "".
#pragma once

#include <string>
#include <vector>

namespace yun::serve {

std::string merge_prometheus_families(const std::vector<std::string>& texts);

}  // namespace yun::serve
