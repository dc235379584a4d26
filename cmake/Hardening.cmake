# Hardening flags in the spirit of cpp-best-practices/cmake_template (cmake/Hardening.cmake).
function(sspr_enable_hardening target)
  target_compile_options(${target} INTERFACE
    $<$<NOT:$<CONFIG:Debug>>:-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3>
    -D_GLIBCXX_ASSERTIONS -fstack-protector-strong -fstack-clash-protection -fcf-protection=full
    -fPIE)
  target_link_options(${target} INTERFACE -pie -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack)
endfunction()
