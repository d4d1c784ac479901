package api

// AppendCSVField exposes appendCSVField to the tests.
var AppendCSVField = appendCSVField
