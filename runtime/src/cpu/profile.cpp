//===- profile.cpp - time spent per call site of a compiled model ---------===//

#include "smx_runtime/profile.h"

#include <chrono>
#include <vector>

namespace {

struct Site {
  std::chrono::steady_clock::time_point start;
  double seconds = 0;
  int64_t calls = 0;
};

std::vector<Site> &sites() {
  static std::vector<Site> table;
  return table;
}

} // namespace

extern "C" void smxrt_profile_begin(int64_t site) {
  if (site < 0)
    return;
  std::vector<Site> &table = sites();
  if (static_cast<size_t>(site) >= table.size())
    table.resize(static_cast<size_t>(site) + 1);
  table[site].start = std::chrono::steady_clock::now();
}

extern "C" void smxrt_profile_end(int64_t site) {
  std::vector<Site> &table = sites();
  if (site < 0 || static_cast<size_t>(site) >= table.size())
    return;
  Site &entry = table[site];
  entry.seconds += std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - entry.start)
                       .count();
  ++entry.calls;
}

extern "C" void smxrt_profile_read(int64_t site, double *seconds,
                                   int64_t *calls) {
  const std::vector<Site> &table = sites();
  bool known = site >= 0 && static_cast<size_t>(site) < table.size();
  if (seconds)
    *seconds = known ? table[site].seconds : 0;
  if (calls)
    *calls = known ? table[site].calls : 0;
}

extern "C" void smxrt_profile_reset(void) {
  for (Site &entry : sites())
    entry = Site();
}
