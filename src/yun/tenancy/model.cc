// Names and parsers of the model's enums, and new_id().
#include "yun/tenancy/model.h"

#include "yun/tenancy/keys.h"

namespace yun::tenancy {

const char* budget_period_name(BudgetPeriod p) {
  switch (p) {
    case BudgetPeriod::kDay:
      return "day";
    case BudgetPeriod::kMonth:
      return "month";
    case BudgetPeriod::kTotal:
      break;
  }
  return "total";
}

std::optional<BudgetPeriod> parse_budget_period(const std::string& s) {
  if (s == "total") return BudgetPeriod::kTotal;
  if (s == "day") return BudgetPeriod::kDay;
  if (s == "month") return BudgetPeriod::kMonth;
  return std::nullopt;
}

const char* key_scope_name(KeyScope s) { return s == KeyScope::kAdmin ? "admin" : "inference"; }

std::optional<KeyScope> parse_key_scope(const std::string& s) {
  if (s == "inference") return KeyScope::kInference;
  if (s == "admin") return KeyScope::kAdmin;
  return std::nullopt;
}

size_t ResponseRow::bytes() const {
  size_t n = id.size() + tenant_id.size() + status.size() + body.size() + input_items.size() +
             context.size() + sizeof(ResponseRow);
  for (const auto& [item_id, item] : items) n += item_id.size() + item.size();
  return n;
}

std::string new_id(const std::string& prefix) { return prefix + random_hex(8); }

}  // namespace yun::tenancy
