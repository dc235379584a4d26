# Warnings for our own targets (not for third-party headers, which come in as SYSTEM).
function(sspr_set_warnings target as_errors)
  target_compile_options(${target} INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
    -Wunused -Woverloaded-virtual -Wconversion -Wsign-conversion
    -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough -Wmisleading-indentation
    # GCC only (clang, used by the fuzz build, does not know them)
    $<$<CXX_COMPILER_ID:GNU>:-Wduplicated-cond -Wduplicated-branches -Wlogical-op>)
  if(as_errors)
    target_compile_options(${target} INTERFACE -Werror)
  endif()
endfunction()
