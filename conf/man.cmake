#  Run PROGRAM with ARGS (a ;-list) and write what it prints to OUT: the
#  build makes the manual pages this way (conf/CMakeLists.txt)
execute_process(COMMAND ${PROGRAM} ${ARGS} OUTPUT_FILE ${OUT}.tmp RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE ${OUT}.tmp)
  message(FATAL_ERROR "${PROGRAM} ${ARGS} failed (${rc})")
endif()
file(RENAME ${OUT}.tmp ${OUT})
