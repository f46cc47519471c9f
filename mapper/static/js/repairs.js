/*
 * The officers' repair page (templates/repairs.html): a map of the reports the page's filters select, each pin
 * coloured by status (colours from data/layers.toml, shape by group: open, fixed, closed, so colour is never the only
 * cue), a legend with each status's count, and a detail panel opened from a pin or from a row's ref.
 *
 * Progressive enhancement: without this script the page is the list and its forms. The panel's status form is the
 * same POST (CSRF token included) as the list's, so a change made here goes through mapper.lifecycle.change too.
 *
 * Data: repairs/map.json (pins: id, ref, lon, lat, status, category, priority, days open; nothing else) and
 * repairs/<id>.json (one report, with officers' names and internal notes). Both are [lon, lat] as GeoJSON;
 * Leaflet takes [lat, lon]. Text from a report (descriptions, notes, names) reaches the page only through
 * textContent, never innerHTML. Plain ES5 on top of Leaflet (no bundler), as the other map pages.
 */
/* global L */
(function () {
  'use strict';

  var section = document.getElementById('repair-map-section');
  var container = document.getElementById('repair-map');
  var panel = document.getElementById('repair-panel');
  if (!section || !container || !panel || typeof L === 'undefined' || !window.fetch) { return; }

  var strings = JSON.parse(document.getElementById('repairs-strings').textContent);
  var COLOUR = /^#[0-9a-fA-F]{6}$/;
  var LANGUAGE = document.documentElement.lang || 'en-GB';
  var heading = document.getElementById('repair-panel-heading');
  var body = document.getElementById('repair-panel-body');
  var status = document.getElementById('repair-map-status');
  var detailUrl = container.getAttribute('data-detail-url');
  var markers = {};
  var statuses = {};
  var opener = null;
  var request = 0;      // the panel shows only the answer to the latest click
  var columnLayer = L.layerGroup();
  var selected = null;

  function t(key, values) {
    var text = strings[key] || key;
    return text.replace(/\{(\w+)\}/g, function (whole, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function safeColour(colour) {
    return COLOUR.test(colour || '') ? colour : '#636363';
  }

  function formatDate(text) {
    var moment = new Date(text);
    if (!text || isNaN(moment.getTime())) { return text || ''; }
    try {
      return moment.toLocaleString(LANGUAGE, {timeZone: 'Europe/London', day: 'numeric', month: 'short',
                                              year: 'numeric', hour: '2-digit', minute: '2-digit'});
    } catch (error) {
      return moment.toISOString();
    }
  }

  function getJSON(url) {
    return fetch(url, {credentials: 'same-origin', headers: {Accept: 'application/json'}}).then(function (response) {
      if (!response.ok) {
        var error = new Error(String(response.status));
        error.status = response.status;
        throw error;
      }
      return response.json();
    });
  }

  // A swatch in the pin's shape: decorative, since the status's words are always next to it.
  function swatch(item) {
    var mark = element('span', 'status-swatch status-swatch--' + (item.group || 'open'));
    mark.setAttribute('aria-hidden', 'true');
    mark.style.setProperty('--status-colour', safeColour(item.colour));
    return mark;
  }

  // -- the map --------------------------------------------------------------------------------------------------

  section.hidden = false;
  status.textContent = t('mapLoading');
  var map = L.map(container, {scrollWheelZoom: false});
  L.tileLayer(container.getAttribute('data-tiles-url'), {
    attribution: container.getAttribute('data-tiles-attribution'), maxZoom: 19
  }).addTo(map);
  map.setView([52.7, -1.2], 14);
  columnLayer.addTo(map);

  function pin(report) {
    var item = statuses[report.status] || {id: report.status, label: report.status, colour: '#636363', group: 'closed'};
    var dot = element('span', 'repair-pin-dot');
    dot.style.background = safeColour(item.colour);
    var title = t('pinTitle', {ref: report.ref, status: item.label, days: report.days_open,
                               category: categories[report.category] || report.category});
    var marker = L.marker([report.lat, report.lon], {   // Leaflet order: [lat, lon]
      icon: L.divIcon({className: 'repair-pin repair-pin--' + item.group + ' status-' + report.status, html: dot,
                       iconSize: [22, 22], iconAnchor: [11, 11]}),
      title: title, keyboard: true, riseOnHover: true
    });
    marker.on('add', function () {
      var icon = marker.getElement();
      icon.setAttribute('role', 'button');
      icon.setAttribute('aria-label', title);
      icon.setAttribute('data-id', report.id);
      icon.setAttribute('data-status', report.status);
      icon.setAttribute('data-colour', safeColour(item.colour));
    });
    marker.on('click', function () { openPanel(report.id, marker.getElement()); });
    marker.on('keydown', function (event) {
      var key = event.originalEvent.key;
      if (key === 'Enter' || key === ' ') {
        event.originalEvent.preventDefault();
        openPanel(report.id, marker.getElement());
      }
    });
    return marker;
  }

  function legend(items) {
    var list = document.getElementById('repair-legend-list');
    list.textContent = '';
    items.forEach(function (item) {
      var row = element('li', 'status-' + item.id);
      row.setAttribute('data-status', item.id);
      row.appendChild(swatch(item));
      row.appendChild(element('span', 'repair-legend-label', item.label));
      row.appendChild(document.createTextNode(': '));
      row.appendChild(element('span', 'repair-legend-count', item.count));
      if (!item.count) { row.className += ' repair-legend-empty'; }
      list.appendChild(row);
    });
  }

  var categories = {};
  var pins = L.featureGroup().addTo(map);
  Promise.all([
    getJSON(container.getAttribute('data-map-url')),
    getJSON(container.getAttribute('data-zone-url')).catch(function () { return null; })
  ]).then(function (answers) {
    var data = answers[0];
    categories = data.categories || {};
    data.statuses.forEach(function (item) { statuses[item.id] = item; });
    legend(data.statuses);
    var zone = answers[1] ? L.geoJSON(answers[1], {
      style: {color: '#1d3557', weight: 2, dashArray: '6 4', fill: false}, interactive: false
    }).addTo(map) : null;
    data.reports.forEach(function (report) {
      markers[report.id] = pin(report).addTo(pins);
    });
    var bounds = data.reports.length ? pins.getBounds() : (zone && zone.getBounds());
    if (bounds && bounds.isValid()) { map.fitBounds(bounds, {padding: [24, 24], maxZoom: 18}); }
    status.textContent = t('mapShown', {count: data.reports.length});
    container.setAttribute('data-ready', 'true');
  }).catch(function () {
    status.textContent = t('mapFailed');
  });

  // -- the panel ------------------------------------------------------------------------------------------------

  function addField(list, label, value) {
    if (value === undefined || value === null || value === '') { return null; }
    list.appendChild(element('dt', null, label));
    var cell = element('dd');
    if (value instanceof Node) { cell.appendChild(value); } else { cell.textContent = String(value); }
    list.appendChild(cell);
    return cell;
  }

  function statusText(report) {
    var wrap = element('span', 'repair-panel-status');
    wrap.appendChild(swatch({colour: report.colour, group: report.group}));
    wrap.appendChild(element('span', null, report.status_label));
    return wrap;
  }

  function columnText(column) {
    if (!column) { return t('noColumn'); }
    if (!column.in_inventory) { return t('columnGone', {unit: column.unit_id}); }
    var text = t('columnAt', {unit: column.unit_id,
                              distance: Number(column.distance_m).toLocaleString(LANGUAGE)});
    return column.location ? text + ' – ' + column.location : text;
  }

  function photo(report) {
    if (!report.photo) { return element('p', 'repair-panel-nophoto', t('noPhoto')); }
    var link = element('a', 'repair-panel-photo');
    link.href = report.photo.url;
    var image = element('img');
    image.src = report.photo.thumbnail;
    image.alt = t('photoAlt', {ref: report.ref});
    image.loading = 'lazy';
    link.appendChild(image);
    return link;
  }

  function historyList(report) {
    if (!report.history.length) { return element('p', null, t('noHistory')); }
    var list = element('ol', 'repair-history');
    report.history.forEach(function (entry) {
      var item = element('li');
      var when = element('time', null, formatDate(entry.at));
      when.dateTime = entry.at || '';
      item.appendChild(when);
      if (entry.from !== entry.to) {
        item.appendChild(element('p', 'repair-history-change',
                                 t('change', {from: entry.from_label || entry.from, to: entry.to_label || entry.to})));
      }
      if (entry.priority) {
        item.appendChild(element('p', null, t('priorityChange', {priority: entry.priority_label || entry.priority})));
      }
      if (entry.by) { item.appendChild(element('p', 'repair-history-by', t('by', {name: entry.by}))); }
      var notes = element('dl');
      addField(notes, t('publicNote'), entry.public_note);
      var internal = addField(notes, t('internalNote'), entry.internal_note);
      if (internal) { internal.className = 'repair-history-internal'; }
      if (notes.childNodes.length) { item.appendChild(notes); }
      list.appendChild(item);
    });
    return list;
  }

  function labelled(form, id, label, control) {
    var row = element('p');
    var caption = element('label', null, label);
    caption.htmlFor = id;
    control.id = id;
    row.appendChild(caption);
    row.appendChild(control);
    form.appendChild(row);
    return control;
  }

  function select(name, choices, current) {
    var box = element('select');
    box.name = name;
    var none = element('option', null, t('noChange'));
    none.value = '';
    box.appendChild(none);
    choices.forEach(function (choice) {
      var option = element('option', null, choice.label);
      option.value = choice.id;
      option.selected = choice.id === current;
      box.appendChild(option);
    });
    return box;
  }

  function hidden(form, name, value) {
    var input = element('input');
    input.type = 'hidden';
    input.name = name;
    input.value = value;
    form.appendChild(input);
  }

  function changeForm(report) {
    var form = element('form', 'change repair-panel-change');
    form.method = 'post';
    form.action = panel.getAttribute('data-change-url');
    form.appendChild(element('h3', null, t('changeHeading')));
    hidden(form, 'csrf_token', panel.getAttribute('data-csrf-token'));
    hidden(form, 'id', report.id);
    var statusBox = labelled(form, 'panel-status', t('newStatus'), select('status', report.next_statuses, null));
    if (report.priorities.length) {
      labelled(form, 'panel-priority', t('priority'), select('priority', report.priorities, report.priority));
    }
    var publicNote = labelled(form, 'panel-public-note', t('publicNoteField'), element('textarea'));
    publicNote.name = 'public_note';
    publicNote.maxLength = 2000;
    publicNote.rows = 2;
    var internalNote = labelled(form, 'panel-internal-note', t('internalNoteField'), element('textarea'));
    internalNote.name = 'internal_note';
    internalNote.maxLength = 2000;
    internalNote.rows = 2;
    var offered = report.next_statuses.map(function (choice) { return choice.id; });
    if (offered.indexOf('duplicate') >= 0) {
      var duplicate = labelled(form, 'panel-duplicate-of', t('duplicateField'), element('input'));
      duplicate.name = 'duplicate_of';
      duplicate.maxLength = 64;
    }
    if (offered.indexOf('not-responsible') >= 0) {
      var hint = element('p', 'hint', t('notResponsibleHint'));
      hint.id = 'panel-status-hint';
      statusBox.setAttribute('aria-describedby', hint.id);
      form.appendChild(hint);
    }
    var actions = element('p');
    var save = element('button', null, t('save'));
    save.type = 'submit';
    actions.appendChild(save);
    form.appendChild(actions);
    return form;
  }

  function render(report) {
    heading.textContent = t('heading', {ref: report.ref || report.id});
    body.textContent = '';
    body.appendChild(photo(report));
    var facts = element('dl', 'repair-facts');
    addField(facts, t('status'), statusText(report));
    addField(facts, t('priority'), report.priority_label || t('notSet'));
    addField(facts, t('category'), report.category_label);
    addField(facts, t('daysOpen'), report.days_open);
    addField(facts, t('reported'), formatDate(report.created));
    addField(facts, t('confirmations'), report.confirmations || 0);
    var place = report.location_text || '';
    if (report.location_approximate) { place = (place ? place + ' ' : '') + t('approximate'); }
    addField(facts, t('location'), place);
    addField(facts, t('gridRef'), Math.round(report.easting) + ', ' + Math.round(report.northing));
    addField(facts, t('column'), columnText(report.column)).className = 'repair-panel-column';
    addField(facts, t('duplicateOf'), report.duplicate_of);
    body.appendChild(facts);
    body.appendChild(element('h3', null, t('description')));
    body.appendChild(element('p', 'repair-panel-description', report.description || t('noDescription')));
    if (report.tracking_url) {
      var track = element('a', 'repair-panel-tracking', t('tracking'));
      track.href = report.tracking_url;
      body.appendChild(element('p')).appendChild(track);
    }
    if (report.resident_emailed) { body.appendChild(element('p', 'repair-panel-emailed', t('emailed'))); }
    body.appendChild(element('h3', null, t('history')));
    body.appendChild(historyList(report));
    body.appendChild(changeForm(report));
    showColumn(report);
  }

  // Where the lamp column stands, joined to the report by a dashed line, while the panel is open.
  function showColumn(report) {
    columnLayer.clearLayers();
    var column = report.column;
    if (!column || !column.in_inventory || column.lat === null) { return; }
    L.polyline([[report.lat, report.lon], [column.lat, column.lon]],
               {color: '#222', weight: 2, dashArray: '4 4', interactive: false}).addTo(columnLayer);
    L.circleMarker([column.lat, column.lon], {radius: 5, color: '#222', weight: 2, fillColor: '#fff', fillOpacity: 1,
                                              className: 'repair-column-marker'})
      // The unit id comes from a council's file: Leaflet puts a string tooltip in as HTML, so it gets an element.
      .bindTooltip(element('span', null, column.unit_id)).addTo(columnLayer);
  }

  function highlight(id) {
    if (selected && selected.getElement()) { L.DomUtil.removeClass(selected.getElement(), 'is-selected'); }
    selected = markers[id] || null;
    if (selected && selected.getElement()) { L.DomUtil.addClass(selected.getElement(), 'is-selected'); }
  }

  function openPanel(id, from) {
    var mine = ++request;
    opener = from || null;
    panel.hidden = false;
    document.body.classList.add('repair-panel-open');
    map.invalidateSize();  // the page may have made room for the panel
    heading.textContent = t('loading');
    body.textContent = '';
    heading.focus();
    highlight(id);
    getJSON(detailUrl.replace('__ID__', encodeURIComponent(id))).then(function (report) {
      if (mine === request) { render(report); }
    }).catch(function (error) {
      if (mine !== request) { return; }
      body.textContent = '';
      body.appendChild(element('p', 'repair-panel-error', t('failed', {status: error.status || '?'})));
    });
  }

  function closePanel() {
    request++;
    panel.hidden = true;
    document.body.classList.remove('repair-panel-open');
    map.invalidateSize();
    columnLayer.clearLayers();
    highlight(null);
    if (opener && opener.isConnected) { opener.focus(); }
    opener = null;
  }

  document.getElementById('repair-panel-close').addEventListener('click', closePanel);
  panel.addEventListener('keydown', function (event) {
    if (event.key === 'Escape') { event.preventDefault(); closePanel(); }
  });
  // A row's ref opens the panel; with a modifier key (new tab) it is the plain link to the tracking page.
  Array.prototype.forEach.call(document.querySelectorAll('a.report-ref[data-id]'), function (link) {
    link.addEventListener('click', function (event) {
      if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) { return; }
      event.preventDefault();
      openPanel(link.getAttribute('data-id'), link);
    });
  });
}());
