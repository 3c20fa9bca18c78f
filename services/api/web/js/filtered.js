// A filtered, paginated list with CSV export of the same filters: the shape the search and visits
// views share. Each view only says where its rows come from, how a row looks and what the summary says.
import * as api from "./api.js";
import { releaseWithin } from "./cards.js";
import { $, clear, formParams, loading, pager, report, saveBlob } from "./dom.js";

const LIMIT = 25;

export function filteredList({ id, path, exportPath, row, summary, hint }) {
  let params = {};
  let loaded = false;
  let offset = 0;
  let render = null;
  const form = () => $(`#${id}-form`);
  const body = () => $(`#${id}-table tbody`);

  async function load(at) {
    try {
      const page = await loading(id, () => api.getJson(path, { ...params, limit: LIMIT, offset: at }));
      releaseWithin(body());
      clear(body()).append(...page.items.map((item) => row(item)));
      $(`#${id}-summary`).textContent = summary(page, params);
      if (hint) $(`#${id}-hint`).textContent = hint(params);
      render(page);
      offset = at;
      loaded = true;
    } catch (e) {
      report(e); // what was shown stays
    }
  }

  async function exportCsv() {
    try {
      const { blob, filename } = await loading(id, () => api.downloadCsv(exportPath, params));
      saveBlob(blob, filename);
    } catch (e) {
      report(e);
    }
  }

  return {
    id,
    init() {
      render = pager($(`#${id}-pager`), load);
      form().addEventListener("submit", (e) => {
        e.preventDefault();
        params = formParams(form());
        load(0);
      });
      form().querySelector('[data-action="export"]').addEventListener("click", () => {
        params = formParams(form());
        exportCsv();
      });
    },
    enter() {
      if (!loaded) load(0);
    },
    refresh: () => load(offset),
    leave() {},
    reset() {
      releaseWithin(body());
      clear(body());
      form().reset();
      params = {};
      loaded = false;
      offset = 0;
      $(`#${id}-summary`).textContent = "";
      if (hint) $(`#${id}-hint`).textContent = hint({});
      $(`#${id}-pager`).hidden = true;
    },
  };
}
