// A filtered, paginated list with CSV export of the same filters: the shape the search and visits
// views share. Each view only says where its rows come from, how a row looks and what the summary says.
import * as api from "./api.js";
import { releaseWithin } from "./cards.js";
import { $, clear, formParams, notify, pager, saveBlob } from "./dom.js";

const LIMIT = 25;

export function filteredList({ id, path, exportPath, row, summary }) {
  let params = {};
  let loaded = false;
  let render = null;
  const form = () => $(`#${id}-form`);
  const body = () => $(`#${id}-table tbody`);

  async function load(offset) {
    try {
      const page = await api.getJson(path, { ...params, limit: LIMIT, offset });
      releaseWithin(body());
      clear(body()).append(...page.items.map((item) => row(item)));
      $(`#${id}-summary`).textContent = summary(page, params);
      render(page);
      loaded = true;
    } catch (e) {
      if (e.status !== 401) notify(e.message);
    }
  }

  async function exportCsv() {
    try {
      const { blob, filename } = await api.downloadCsv(exportPath, params);
      saveBlob(blob, filename);
    } catch (e) {
      if (e.status !== 401) notify(e.message);
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
    leave() {},
    reset() {
      releaseWithin(body());
      clear(body());
      form().reset();
      params = {};
      loaded = false;
      $(`#${id}-summary`).textContent = "";
      $(`#${id}-pager`).hidden = true;
    },
  };
}
