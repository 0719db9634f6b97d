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

# herald_plugin_test(PLUGIN TEST_SOURCE)
# Builds a unit test of one plugin: its sources linked with the test and
# the mock host (tests/mock), never with the core. The test reaches the
# plugin through its entry symbol, as the core does.
function(herald_plugin_test plugin test_src)
  if(NOT HERALD_TESTS)
    return()
  endif()
  get_target_property(srcs ${plugin} SOURCES)
  set(abs_srcs "")
  foreach(src ${srcs})
    get_filename_component(abs ${src} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    list(APPEND abs_srcs ${abs})
  endforeach()
  add_executable(test_${plugin} ${test_src} ${abs_srcs})
  target_include_directories(test_${plugin} PRIVATE
    ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/tests/mock
    ${PROJECT_SOURCE_DIR}/tests/unit)
  target_link_libraries(test_${plugin} PRIVATE herald_mockhost PkgConfig::JANSSON)
  add_test(NAME plugin.${plugin} COMMAND test_${plugin})
endfunction()
