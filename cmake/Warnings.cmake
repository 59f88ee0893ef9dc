# Warnings for our own code (generated code included). -Werror is on by default so a
# warning breaks the build locally as it would in CI.
set(TGB_WARNINGS -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wpointer-arith -Wvla -Wformat=2 -Wundef)
if(TGB_WERROR)
  list(APPEND TGB_WARNINGS -Werror)
endif()

# tgb_target_warnings(target): apply the project's warning set to one target.
function(tgb_target_warnings target)
  target_compile_options(${target} PRIVATE ${TGB_WARNINGS})
endfunction()
