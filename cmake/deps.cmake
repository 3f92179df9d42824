# Third-party dependencies, all from Debian packages (see scripts/install-deps.sh).
find_package(Threads REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(Boost 1.74 REQUIRED)

if(YUN_STATIC_DEPS)
  find_library(PCRE2_LIB NAMES libpcre2-8.a REQUIRED)
  find_library(UTF8PROC_LIB NAMES libutf8proc.a REQUIRED)
else()
  find_library(PCRE2_LIB NAMES pcre2-8 REQUIRED)
  find_library(UTF8PROC_LIB NAMES utf8proc REQUIRED)
endif()
find_path(PCRE2_INCLUDE pcre2.h REQUIRED)
find_path(UTF8PROC_INCLUDE utf8proc.h REQUIRED)

if(YUN_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()

# Tenancy (src/yun/tenancy): SQLite embedded, PostgreSQL through libpq,
# OpenSSL's libcrypto for key hashing (SHA-256) and key randomness.
find_package(SQLite3 REQUIRED)
if(YUN_STATIC_DEPS)
  set(OPENSSL_USE_STATIC_LIBS TRUE)
endif()
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
# PostgreSQL is optional only for the static (GPU machine) build; everywhere
# else scripts/install-deps.sh installs libpq-dev and it is required.
if(YUN_STATIC_DEPS)
  set(YUN_HAVE_POSTGRES OFF)
else()
  find_package(PostgreSQL REQUIRED)
  set(YUN_HAVE_POSTGRES ON)
endif()

# KV-cache events (src/yun/serve/kv_events*): libzmq from Debian's libzmq3-dev.
# Required, except in the static (GPU machine) build, which leaves it out (a
# portable binary should not need libzmq.so at run time): there
# --kv-events-endpoint is refused with a clear error.
if(YUN_STATIC_DEPS)
  set(YUN_HAVE_ZMQ OFF)
else()
  pkg_check_modules(ZMQ REQUIRED IMPORTED_TARGET libzmq)
  set(YUN_HAVE_ZMQ ON)
endif()

# `yun pull` (src/yun/hub): the Hugging Face hub over HTTPS with libcurl from
# Debian's libcurl4-openssl-dev. The static (GPU machine) build leaves it out:
# there `yun pull` says so and exits 1. yun_curl carries the library and
# YUN_HAVE_CURL=1 to whatever links it.
add_library(yun_curl INTERFACE)
if(NOT YUN_STATIC_DEPS)
  find_package(CURL REQUIRED)
  target_link_libraries(yun_curl INTERFACE CURL::libcurl)
  target_compile_definitions(yun_curl INTERFACE YUN_HAVE_CURL=1)
endif()
