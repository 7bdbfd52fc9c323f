export const id = 845;
export const ids = [845];
export const modules = {

/***/ 7845:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   planTable: () => (/* binding */ planTable)
/* harmony export */ });
/** The steps as an aligned text table with a header. */
function planTable(steps) {
    if (steps.length === 0)
        return 'Nothing to do.';
    const rows = [['ACTION', 'RESOURCE', 'DETAIL'], ...steps.map((s) => [s.action, s.resource, s.detail])];
    const widths = [0, 1].map((c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
    return rows
        .map((r) => `${(r[0] ?? '').padEnd(widths[0] ?? 0)}  ${(r[1] ?? '').padEnd(widths[1] ?? 0)}  ${r[2] ?? ''}`.trimEnd())
        .join('\n');
}


/***/ })

};
