//===- freeze.cpp - Which parameters --freeze keeps fixed -----------------===//

#include "training/train_state.h"

#include "status_internal.h"

#include <fnmatch.h>
#include <functional>
#include <set>

namespace smxrt {
smxrt_status_t resolveFreeze(const std::string &list, const TrainState &state,
                             std::vector<bool> &frozen, std::string &report,
                             std::vector<std::string> &notes) {
  frozen.assign(state.parameterCount(), false);
  report.clear();
  if (list.empty())
    return nullptr;
  auto contains = [](const std::string &name, const char *part) {
    return name.find(part) != std::string::npos;
  };
  auto isRouter = [&](const std::string &name) {
    return contains(name, ".router.");
  };
  auto isExpert = [&](const std::string &name) {
    return contains(name, ".experts.");
  };
  struct Group {
    const char *name;
    std::function<bool(const std::string &)> matches;
  };
  const Group groups[] = {
      {"router", isRouter},
      {"experts", isExpert},
      {"attention",
       [&](const std::string &name) {
         return contains(name, ".mixing.query.") ||
                contains(name, ".mixing.key.") ||
                contains(name, ".mixing.value.") ||
                contains(name, ".mixing.output.");
       }},
      {"mixing",
       [&](const std::string &name) { return contains(name, ".mixing."); }},
      {"embeddings",
       [&](const std::string &name) {
         return name.compare(0, 11, "embeddings.") == 0;
       }},
      {"heads",
       [&](const std::string &name) {
         return name.compare(0, 6, "heads.") == 0;
       }},
      {"non-moe",
       [&](const std::string &name) {
         return !isRouter(name) && !isExpert(name);
       }},
  };
  std::set<std::string> seen;
  size_t begin = 0;
  while (begin <= list.size()) {
    size_t end = std::min(list.find(',', begin), list.size());
    std::string item = list.substr(begin, end - begin);
    begin = end + 1;
    while (!item.empty() && item.front() == ' ')
      item.erase(item.begin());
    while (!item.empty() && item.back() == ' ')
      item.pop_back();
    if (item.empty())
      return invalidArgument("--freeze: empty item in '" + list + "'");
    if (!seen.insert(item).second)
      continue;
    const Group *group = nullptr;
    for (const Group &candidate : groups)
      if (item == candidate.name)
        group = &candidate;
    bool isPattern = item.find_first_of("*?[") != std::string::npos ||
                     item.find('.') != std::string::npos;
    if (!group && !isPattern)
      return invalidArgument(
          "--freeze: unknown group '" + item +
          "' (expected router, experts, attention, mixing, "
          "embeddings, heads, non-moe, or a parameter name pattern "
          "such as 'layers.0.*')");
    size_t matched = 0;
    for (size_t index = 0; index < state.parameterCount(); ++index) {
      const std::string &name = state.parameterSpec(index).name;
      bool hit = group ? group->matches(name)
                       : ::fnmatch(item.c_str(), name.c_str(), 0) == 0;
      if (hit) {
        frozen[index] = true;
        ++matched;
      }
    }
    if (matched == 0 && group)
      notes.push_back("note: --freeze " + item +
                      ": the model has no such parameters");
    else if (matched == 0)
      return invalidArgument("--freeze: the pattern '" + item +
                             "' matches no parameter of the model");
  }
  size_t count = 0;
  int64_t elements = 0;
  for (size_t index = 0; index < frozen.size(); ++index)
    if (frozen[index]) {
      ++count;
      elements += state.parameterSpec(index).elementCount;
    }
  report = formatString("frozen (%s): %zu of %zu parameters, %lld elements; "
                        "their updates are discarded after every step",
                        list.c_str(), count, frozen.size(),
                        static_cast<long long>(elements));
  return nullptr;
}

} // namespace smxrt
