# SPDX-License-Identifier: GPL-3.0-or-later
# Run at build time (cmake -P) with the built imager: its manual pages and shell completion
# scripts, generated from its own command-line tree, into OUT (what `ninja install` installs):
#   OUT/man/manN/*.N   every page `imager manpage --all` writes, by section
#   OUT/completions/   imager (bash), _imager (zsh), imager.fish
# Usage: cmake -DIMAGER=build/imager -DOUT=build/dist -P dist/generate_docs.cmake
if(NOT IMAGER OR NOT OUT)
  message(FATAL_ERROR "usage: cmake -DIMAGER=PATH -DOUT=DIR -P generate_docs.cmake")
endif()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    list(JOIN ARGN " " cmd)
    message(FATAL_ERROR "${cmd}: ${rc}")
  endif()
endfunction()

# Pages: written into a fresh directory, then sorted by section (.1, .5, ...) so that install()
# takes whatever sections exist without naming each page.
file(REMOVE_RECURSE ${OUT}/man ${OUT}/man.tmp)
file(MAKE_DIRECTORY ${OUT}/man.tmp)
run(${IMAGER} manpage --all ${OUT}/man.tmp)
file(GLOB pages ${OUT}/man.tmp/*)
if(NOT pages)
  message(FATAL_ERROR "${IMAGER} manpage --all wrote no pages")
endif()
foreach(page ${pages})
  get_filename_component(name ${page} NAME)
  string(REGEX MATCH "[1-9]$" section ${name})
  if(NOT section)
    message(FATAL_ERROR "${name}: not a manual page name (NAME.SECTION)")
  endif()
  file(MAKE_DIRECTORY ${OUT}/man/man${section})
  file(RENAME ${page} ${OUT}/man/man${section}/${name})
endforeach()
file(REMOVE_RECURSE ${OUT}/man.tmp)

# Completions, under the names each shell looks for.
file(MAKE_DIRECTORY ${OUT}/completions)
foreach(pair "bash;imager" "zsh;_imager" "fish;imager.fish")
  list(GET pair 0 shell)
  list(GET pair 1 name)
  execute_process(COMMAND ${IMAGER} completion ${shell} OUTPUT_FILE ${OUT}/completions/${name}
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${IMAGER} completion ${shell}: ${rc}")
  endif()
endforeach()
