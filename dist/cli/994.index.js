export const id = 994;
export const ids = [994];
export const modules = {

/***/ 7994:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   outputsTable: () => (/* binding */ outputsTable)
/* harmony export */ });
/** Outputs as aligned `name  value` lines for a terminal. */
function outputsTable(outputs) {
    const width = Math.max(...Object.keys(outputs).map((k) => k.length));
    return Object.entries(outputs)
        .map(([k, v]) => `${k.padEnd(width)}  ${v}`)
        .join('\n');
}


/***/ })

};
