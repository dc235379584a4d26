# Every dependency comes from Debian's packages (scripts/install-deps installs them).
find_package(Boost 1.81.0 EXACT REQUIRED CONFIG COMPONENTS system json url program_options)
find_package(OpenSSL 3 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(LDAP REQUIRED IMPORTED_TARGET ldap lber)
find_package(Threads REQUIRED)
find_package(yaml-cpp 0.7 REQUIRED)
find_package(ICU 72 REQUIRED COMPONENTS uc i18n)
