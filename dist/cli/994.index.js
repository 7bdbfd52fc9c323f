export const id = 994;
export const ids = [994];
export const modules = {

/***/ 7994:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   outputsTable: () => (/* binding */ outputsTable),
/* harmony export */   summaryMarkdown: () => (/* binding */ summaryMarkdown)
/* harmony export */ });
/** The outputs and steps as a Markdown table: the GitHub job summary, and `--summary` files elsewhere. */
function summaryMarkdown(result) {
    const rows = Object.entries(result.outputs)
        .filter(([, v]) => v !== '')
        .map(([k, v]) => `| ${k} | \`${v}\` |`);
    const steps = result.steps.map((s) => `| ${s.stage} | ${s.result} |`);
    const headline = result.outputs.skipped === 'true'
        ? 'Nothing to publish: this build is already an image.'
        : `Published **${result.outputs['image-name']}**.`;
    return [
        '## nix-glab-runner publish',
        '',
        headline,
        '',
        '| output | value |',
        '| --- | --- |',
        ...rows,
        '',
        '| stage | result |',
        '| --- | --- |',
        ...steps,
        '',
    ].join('\n');
}
/** Outputs as aligned `name  value` lines for a terminal. */
function outputsTable(outputs) {
    const width = Math.max(...Object.keys(outputs).map((k) => k.length));
    return Object.entries(outputs)
        .map(([k, v]) => `${k.padEnd(width)}  ${v}`)
        .join('\n');
}


/***/ })

};
