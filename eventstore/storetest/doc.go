// Package storetest is the contract test suite that every event store
// backend passes. A backend's test calls Run from a test named TestContract,
// so that subtests read TestContract/<backend>/<case>.
package storetest
