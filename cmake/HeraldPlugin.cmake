# herald_add_plugin(NAME SOURCES...)
# Builds a network plugin as a MODULE library with hidden visibility, against
# the ABI headers in include/herald and nothing of the core.
function(herald_add_plugin name)
  add_library(${name} MODULE ${ARGN})
  set_target_properties(${name} PROPERTIES PREFIX "" C_VISIBILITY_PRESET hidden
    LIBRARY_OUTPUT_DIRECTORY "${HERALD_BUILD_PLUGIN_DIR}")
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(${name} PRIVATE PkgConfig::JANSSON)
endfunction()
