# Checks on the build itself rather than on one module.

# The public header compiles alone as strict C11 and as C++.
add_test(NAME header_c11
  COMMAND ${CMAKE_C_COMPILER} -std=c11 -pedantic-errors -Wall -Wextra -Werror -fsyntax-only
          -I${CMAKE_SOURCE_DIR}/include ${CMAKE_CURRENT_SOURCE_DIR}/header_alone.c)
find_program(TGB_CXX NAMES c++ g++ clang++)
if(TGB_CXX)
  add_test(NAME header_cxx
    COMMAND ${TGB_CXX} -x c++ -std=c++11 -pedantic-errors -Wall -Wextra -Werror -fsyntax-only
            -I${CMAKE_SOURCE_DIR}/include ${CMAKE_CURRENT_SOURCE_DIR}/header_alone.c)
endif()

# libtgbotapi.so exports the public API and nothing else.
add_test(NAME exports
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/check_exports.sh $<TARGET_FILE:tgbotapi>
          ${CMAKE_SOURCE_DIR}/include/tgbotapi/tgbotapi.h)

# The installed library works with pkg-config and find_package.
add_test(NAME install_consumers
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/check_install.sh ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(header_c11 exports install_consumers PROPERTIES LABELS build)

# A missing dependency stops configuration and names its Debian package.
add_test(NAME missing_dependency
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/check_missing_dep.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(missing_dependency PROPERTIES LABELS build)
