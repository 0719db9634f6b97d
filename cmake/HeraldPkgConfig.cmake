# Installs ${CMAKE_INSTALL_LIBDIR}/pkgconfig/herald-plugin.pc, which an
# out-of-tree plugin builds against (pkg-config herald-plugin): Cflags
# for the ABI headers, and the variables plugindir and abi_version.
#
# The file names absolute paths under the prefix given at install time
# (cmake --install --prefix P), not the one configured, so it is written
# by the install step itself.

# The ABI version, read from the header that defines it.
file(STRINGS "${PROJECT_SOURCE_DIR}/include/herald/plugin.h" _herald_abi
     REGEX "^#define HERALD_ABI_(MAJOR|MINOR) [0-9]+$")
string(REGEX REPLACE ".*HERALD_ABI_MAJOR ([0-9]+).*" "\\1" HERALD_ABI_MAJOR
       "${_herald_abi}")
string(REGEX REPLACE ".*HERALD_ABI_MINOR ([0-9]+).*" "\\1" HERALD_ABI_MINOR
       "${_herald_abi}")
if(NOT HERALD_ABI_MAJOR MATCHES "^[0-9]+$" OR
   NOT HERALD_ABI_MINOR MATCHES "^[0-9]+$")
  message(FATAL_ERROR "cannot read the ABI version from herald/plugin.h")
endif()

# A directory as the .pc file names it: under ${prefix} when relative.
function(_herald_pc_dir out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  else()
    set(${out} "\${prefix}/${dir}" PARENT_SCOPE)
  endif()
endfunction()

_herald_pc_dir(HERALD_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
_herald_pc_dir(HERALD_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
_herald_pc_dir(HERALD_PC_PLUGINDIR "${HERALD_PLUGIN_SUBDIR}")
# Left for the install step to fill in.
set(HERALD_PC_PREFIX_REF "@HERALD_PC_PREFIX@")
configure_file("${PROJECT_SOURCE_DIR}/cmake/herald-plugin.pc.in"
               "${PROJECT_BINARY_DIR}/pkgconfig/herald-plugin.pc.in" @ONLY)

if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(_herald_pc_dest "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
else()
  set(_herald_pc_dest "\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig")
endif()
install(CODE "
  set(HERALD_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${PROJECT_BINARY_DIR}/pkgconfig/herald-plugin.pc.in\"
                 \"${PROJECT_BINARY_DIR}/pkgconfig/install/herald-plugin.pc\"
                 @ONLY)
  file(INSTALL \"${PROJECT_BINARY_DIR}/pkgconfig/install/herald-plugin.pc\"
       DESTINATION \"${_herald_pc_dest}\")
")
