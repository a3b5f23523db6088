# Google Highway for the scan kernels (weft/scan.h). Decides WEFT_HAVE_HIGHWAY:
#   WEFT_HIGHWAY=AUTO (default): use Highway >= 1.0.3 when its CMake package is
#     found *and* a program linking hwy::hwy builds with this compiler (a cross
#     build must not pick up the host's x86 package); otherwise scalar twins.
#   WEFT_HIGHWAY=ON: the same, but a missing or unusable Highway is an error.
#   WEFT_HIGHWAY=OFF: never; the kernels are the scalar twins.
# Highway is linked PRIVATE to the weft libraries; the installed weftConfig
# finds it again (find_dependency) because a static weft carries the link.
# (The option itself is declared with the others in the top CMakeLists.txt.)
string(TOUPPER "${WEFT_HIGHWAY}" weft_highway_choice)
if(NOT weft_highway_choice MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "WEFT_HIGHWAY must be AUTO, ON or OFF, not '${WEFT_HIGHWAY}'")
endif()

set(WEFT_HAVE_HIGHWAY OFF)
set(weft_highway_why "WEFT_HIGHWAY=OFF")
if(NOT weft_highway_choice STREQUAL "OFF")
  find_package(hwy 1.0.3 CONFIG QUIET)
  if(NOT hwy_FOUND)
    set(weft_highway_why "no hwy >= 1.0.3 CMake package for this target (Debian: libhwy-dev)")
  else()
    include(CheckCXXSourceCompiles)
    set(CMAKE_REQUIRED_LIBRARIES hwy::hwy)
    set(CMAKE_REQUIRED_QUIET ON)
    check_cxx_source_compiles([=[
      #include <hwy/targets.h>
      int main() { return hwy::SupportedTargets() == 0 ? 1 : 0; }
    ]=] WEFT_HIGHWAY_LINKS)
    unset(CMAKE_REQUIRED_LIBRARIES)
    unset(CMAKE_REQUIRED_QUIET)
    if(WEFT_HIGHWAY_LINKS)
      set(WEFT_HAVE_HIGHWAY ON)
    else()
      set(weft_highway_why "hwy ${hwy_VERSION} found at ${hwy_DIR} but a program linking it does not build with ${CMAKE_CXX_COMPILER}")
    endif()
  endif()
  if(NOT WEFT_HAVE_HIGHWAY AND weft_highway_choice STREQUAL "ON")
    message(FATAL_ERROR "weft: WEFT_HIGHWAY=ON but ${weft_highway_why}")
  endif()
endif()
if(WEFT_HAVE_HIGHWAY)
  message(STATUS "weft: scan kernels vectorised with Highway ${hwy_VERSION} (dynamic dispatch)")
else()
  message(STATUS "weft: scan kernels are the scalar twins (${weft_highway_why})")
endif()
