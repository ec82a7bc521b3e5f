"""What the tests are built from, imported by them as ``helpers.<module>``; no tests here
(pytest does not collect this folder). tests/README.md says what each module gives."""
