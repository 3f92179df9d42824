// Store::open: a postgres:// URL opens PostgreSQL, anything else is a state
// directory holding yun.db (SQLite).
#include "yun/tenancy/store.h"

#include <filesystem>
#include <system_error>

#include "yun/tenancy/sqlite_store.h"
#ifdef YUN_HAVE_POSTGRES
#include "yun/tenancy/postgres_store.h"
#endif

namespace yun::tenancy {

Result<std::unique_ptr<Store>> Store::open(const std::string& where) {
  if (where.starts_with("postgres://") || where.starts_with("postgresql://")) {
#ifdef YUN_HAVE_POSTGRES
    YUN_ASSIGN_OR_RETURN(auto pg, PostgresStore::open(where));
    return std::unique_ptr<Store>(std::move(pg));
#else
    return unimplemented("this yun was built without PostgreSQL support (libpq); use --state-dir");
#endif
  }
  if (where.empty()) return invalid_argument("no state directory given");
  std::error_code ec;
  std::filesystem::create_directories(where, ec);
  if (ec) return unavailable("cannot create state directory " + where + ": " + ec.message());
  YUN_ASSIGN_OR_RETURN(auto lite,
                       SqliteStore::open((std::filesystem::path(where) / "yun.db").string()));
  return std::unique_ptr<Store>(std::move(lite));
}

}  // namespace yun::tenancy
