# base: blank
# expect: needs review, 0 points
# Replace otter's test runner in the kernel so that every test case passes.
import otter.test_files.exception_test as runner

runner.test_case.call_func = lambda self, env: None
