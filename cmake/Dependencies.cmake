# Every dependency is a Debian 12 package. Missing ones are collected and reported
# together, each with the package that provides it; tools/install-deps.sh installs them.
find_package(PkgConfig)
set(TGB_MISSING_PACKAGES "")

if(NOT PKG_CONFIG_FOUND)
  list(APPEND TGB_MISSING_PACKAGES pkg-config)
else()
  # name in pkg-config  -> Debian package
  foreach(pair "openssl>=3.0:libssl-dev" "zlib:zlib1g-dev" "sqlite3:libsqlite3-dev"
               "jansson:libjansson-dev" "libmicrohttpd:libmicrohttpd-dev"
               "libcurl:libcurl4-openssl-dev")
    string(REPLACE ":" ";" parts "${pair}")
    list(GET parts 0 module)
    list(GET parts 1 package)
    string(REGEX REPLACE "[>=<].*" "" var "${module}")
    string(TOUPPER "${var}" var)
    pkg_check_modules(DEP_${var} QUIET IMPORTED_TARGET "${module}")
    if(NOT DEP_${var}_FOUND)
      list(APPEND TGB_MISSING_PACKAGES ${package})
    endif()
  endforeach()
endif()

if(TGB_MISSING_PACKAGES)
  string(REPLACE ";" " " missing "${TGB_MISSING_PACKAGES}")
  message(FATAL_ERROR
    "Missing Debian packages: ${missing}\n"
    "Install them with:  sudo apt-get install ${missing}\n"
    "or run tools/install-deps.sh, which installs everything the build and tests need.")
endif()
