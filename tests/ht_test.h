//  ht_test: the one main() every Check test file shares.
#ifndef HT_TEST_H_INCLUDED
#define HT_TEST_H_INCLUDED

#include <check.h>
#include <stdlib.h>

//  Define main() running one suite; exit 0 only if every test passed
#define HT_TEST_MAIN(suite_fn)                                  \
    int main (void)                                             \
    {                                                           \
        SRunner *runner = srunner_create (suite_fn ());         \
        srunner_run_all (runner, CK_NORMAL);                    \
        int failed = srunner_ntests_failed (runner);            \
        srunner_free (runner);                                  \
        return failed == 0? EXIT_SUCCESS: EXIT_FAILURE;         \
    }

#endif
