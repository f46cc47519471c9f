/*
 * The report page, enhanced: a Leaflet map with a draggable pin, the phone's GPS, the photo's own location (read with
 * exifr, loaded only when a photo is chosen), "Is it one of these?" before a new fault is added (and "Is it already
 * on the map?" before a community asset is), submission with fetch, and offline drafts in IndexedDB that send
 * themselves when the phone is back online. Where the council's lamp-column inventory is loaded, the columns near the
 * pin appear as numbered markers and as a list of radio buttons: choosing one puts the pin on it and sends its unit
 * id as `column` (the server checks it is within 25 m; with none chosen it links the nearest column itself).
 *
 * Without this script the page is a plain form that posts to the same URL, so everything here is an enhancement.
 * Every string shown comes from the #report-strings JSON the template renders (translated there).
 * Coordinates: the form, the API and GeoJSON use lon/lat numbers; Leaflet takes [lat, lon].
 * Server and user text reach the page only through textContent.
 */
/* global L, exifr */
(function () {
  'use strict';

  var form = document.getElementById('report-form');
  if (!form || !window.fetch || !window.FormData || !window.Promise) { return; }

  var STRINGS = JSON.parse(document.getElementById('report-strings').textContent);
  var CONFIG = JSON.parse(document.getElementById('report-config').textContent);
  var DB_NAME = 'mapper-reports';
  var STORE = 'drafts';
  var ACCURACY_WARNING_METRES = 50;

  var alertRegion = document.getElementById('report-alert');
  var statusRegion = document.getElementById('report-status');
  var latInput = document.getElementById('lat');
  var lonInput = document.getElementById('lon');
  var clientIdInput = document.getElementById('client_id');
  var submitButton = document.getElementById('submit');

  var map = null;
  var pin = null;
  var accuracyCircle = null;
  var photoPoint = null;
  var answeredDuplicates = null;  // "lat,lon,category" the resident said is not a duplicate
  var sending = {};               // client_id -> true while a request for it is in flight

  // -- small helpers ---------------------------------------------------------------------------------------------

  function t(key, values) {
    return String(STRINGS[key] || key).replace(/\{(\w+)\}/g, function (whole, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;  // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80;  // RFC 4122 variant
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join('');
    return hex.slice(0, 8) + '-' + hex.slice(8, 12) + '-' + hex.slice(12, 16) + '-' + hex.slice(16, 20) + '-' + hex.slice(20);
  }

  function showAlert(message) {
    alertRegion.textContent = message || '';
  }

  function showStatus(message, link) {
    statusRegion.textContent = message || '';
    if (link) {
      statusRegion.appendChild(document.createTextNode(' '));
      var anchor = element('a', null, STRINGS.draftTrack);
      anchor.href = link;
      statusRegion.appendChild(anchor);
    }
  }

  function finite(text) {
    if (text === null || text === undefined || String(text).trim() === '') { return null; }
    var number = Number(String(text).trim());
    return isFinite(number) ? number : null;
  }

  function currentPoint() {
    var lat = finite(latInput.value), lon = finite(lonInput.value);
    if (lat === null || lon === null || Math.abs(lat) > 90 || Math.abs(lon) > 180) { return null; }
    return {lat: lat, lon: lon};
  }

  function category() {
    var checked = form.querySelector('[name="category"]:checked');
    if (checked) { return checked.value; }
    var field = form.elements.namedItem('category');
    return field && field.value !== undefined ? field.value : '';
  }

  function markField(name, message) {
    var control = document.getElementById(name);
    if (!control) { return; }
    var box = control.closest('.field, fieldset') || control.parentNode;
    box.classList.add('field--error');
    control.setAttribute('aria-invalid', 'true');
    var note = document.getElementById(name + '-error');
    if (!note) {
      note = element('p', 'field-error');
      note.id = name + '-error';
      note.dataset.fromScript = '1';
      var label = box.querySelector('label, legend');
      box.insertBefore(note, label ? label.nextSibling : box.firstChild);
      var described = (control.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
      if (described.indexOf(note.id) < 0) { described.push(note.id); }
      control.setAttribute('aria-describedby', described.join(' '));
    }
    note.textContent = '';
    var mark = element('span', 'error-mark', '!');
    mark.setAttribute('aria-hidden', 'true');
    note.appendChild(mark);
    note.appendChild(document.createTextNode(' ' + message));
  }

  function clearMarks() {
    Array.prototype.forEach.call(form.querySelectorAll('[data-from-script]'), function (note) {
      var control = document.getElementById(note.id.replace(/-error$/, ''));
      if (control) {
        control.removeAttribute('aria-invalid');
        var described = (control.getAttribute('aria-describedby') || '').split(' ').filter(function (id) {
          return id && id !== note.id;
        });
        if (described.length) { control.setAttribute('aria-describedby', described.join(' ')); }
        else { control.removeAttribute('aria-describedby'); }
      }
      var box = note.parentNode;
      note.remove();
      if (box && box.classList && !box.querySelector('.field-error')) { box.classList.remove('field--error'); }
    });
  }

  // -- the location: pin, map, GPS -------------------------------------------------------------------------------

  function setPin(lat, lon, from) {
    lat = Math.round(lat * 1e6) / 1e6;
    lon = Math.round(lon * 1e6) / 1e6;
    if (from !== 'inputs') {
      latInput.value = lat.toFixed(6);
      lonInput.value = lon.toFixed(6);
    }
    document.getElementById('pin-status').textContent = t('pinPlaced', {lat: lat.toFixed(5), lon: lon.toFixed(5)});
    document.getElementById('photo-location').hidden = true;
    if (from !== 'gps' && accuracyCircle && map) { map.removeLayer(accuracyCircle); accuracyCircle = null; }
    showAlert('');
    if (from !== 'column') { pinMoved({lat: lat, lon: lon}); }
    if (!map) { return; }
    if (pin) {
      pin.setLatLng([lat, lon]);  // Leaflet order
    } else {
      pin = L.marker([lat, lon], {draggable: true, autoPan: true, title: STRINGS.markerLabel, alt: STRINGS.markerLabel,
                                  zIndexOffset: 1000,  // above the lamp-column markers
                                  icon: L.divIcon({className: 'report-pin', iconSize: [32, 44], iconAnchor: [16, 43],
                                                   html: PIN_SVG})});
      pin.on('dragend', function () {
        var position = pin.getLatLng();
        setPin(position.lat, position.lng, 'drag');
      });
      pin.addTo(map);
    }
  }

  // Static markup, no user text: a map pin with a white centre, drawn with an outline so it shows on any tiles.
  var PIN_SVG = '<svg width="32" height="44" viewBox="0 0 32 44" aria-hidden="true" focusable="false">' +
    '<path d="M16 1C7.7 1 1 7.7 1 16c0 11.2 15 27 15 27s15-15.8 15-27C31 7.7 24.3 1 16 1z" fill="#1d3557" ' +
    'stroke="#fff" stroke-width="2"/><circle cx="16" cy="16" r="6" fill="#fff"/></svg>';

  function startMap() {
    var container = document.getElementById('report-map');
    if (!window.L || !container) { if (container) { container.hidden = true; } return; }
    map = L.map(container, {zoomControl: true, maxZoom: 19});
    L.tileLayer(CONFIG.tilesUrl, {attribution: CONFIG.tilesAttribution, maxZoom: 19}).addTo(map);
    var bounds = null;
    (CONFIG.bounds || []).forEach(function (bbox) {  // each zone's GeoJSON bbox: [min lon, min lat, max lon, max lat]
      var box = L.latLngBounds([bbox[1], bbox[0]], [bbox[3], bbox[2]]);  // to Leaflet's [lat, lon]
      bounds = bounds ? bounds.extend(box) : box;
    });
    if (bounds) { map.fitBounds(bounds); } else { map.setView([52.7, -1.2], 10); }
    map.on('click', function (event) { setPin(event.latlng.lat, event.latlng.lng, 'map'); });
    var point = currentPoint();
    if (point) { setPin(point.lat, point.lon, 'inputs'); map.setView([point.lat, point.lon], 17); }
    document.getElementById('pin-centre').addEventListener('click', function () {
      var centre = map.getCenter();
      setPin(centre.lat, centre.lng, 'map');
    });
  }

  function locate() {
    var status = document.getElementById('gps-status');
    status.className = 'gps-status';
    if (!navigator.geolocation) { status.textContent = STRINGS.noGeolocation; return; }
    status.textContent = STRINGS.locating;
    navigator.geolocation.getCurrentPosition(function (position) {
      var coords = position.coords;
      var metres = Math.max(1, Math.round(coords.accuracy || 0));
      setPin(coords.latitude, coords.longitude, 'gps');
      if (metres > ACCURACY_WARNING_METRES) {
        status.className = 'gps-status gps-status--warning';
        status.textContent = t('inaccurate', {metres: metres});
      } else {
        status.textContent = t('located', {metres: metres});
      }
      if (map) {
        if (accuracyCircle) { map.removeLayer(accuracyCircle); }
        accuracyCircle = L.circle([coords.latitude, coords.longitude], {radius: metres, weight: 1, interactive: false})
          .addTo(map);
        map.setView([coords.latitude, coords.longitude], metres > ACCURACY_WARNING_METRES ? 17 : 18);
      }
    }, function (error) {
      status.className = 'gps-status gps-status--warning';
      status.textContent = error && error.code === 1 ? STRINGS.geolocationDenied : STRINGS.geolocationFailed;
    }, {enableHighAccuracy: true, timeout: 20000, maximumAge: 60000});
  }

  // -- lamp columns: tap the column itself -----------------------------------------------------------------------

  var columnPicker = document.getElementById('column-picker');
  var columnInput = document.getElementById('column');
  var columnChoices = document.getElementById('column-choices');
  var columnStatus = document.getElementById('column-status');
  var columnClear = document.getElementById('column-clear');
  var columnMarkers = null;  // an L.layerGroup of the markers of the columns listed
  var columnsListed = [];    // {unit_id, distance_m, location, lon, lat, radio, marker}, nearest first
  var chosenColumn = null;   // the column picked from the list or the map: {unit_id, lon, lat}
  var columnTicket = 0;      // the newest request: an older answer arriving late is dropped
  var columnsStarted = false;

  // Metres between two lon/lat points (equirectangular: exact enough within a street; the server measures in BNG).
  function metresBetween(a, b) {
    var radians = Math.PI / 180;
    var x = (b.lon - a.lon) * radians * Math.cos((a.lat + b.lat) / 2 * radians);
    var y = (b.lat - a.lat) * radians;
    return Math.sqrt(x * x + y * y) * 6371008.8;
  }

  // The zones with a column inventory whose bbox holds the point: [min lon, min lat, max lon, max lat].
  function columnZonesAt(point) {
    return (CONFIG.columnZones || []).filter(function (zone) {
      var box = zone.bbox;
      return point.lon >= box[0] && point.lon <= box[2] && point.lat >= box[1] && point.lat <= box[3];
    });
  }

  function pinMoved(point) {
    if (!columnsStarted) { return; }
    if (chosenColumn && metresBetween(point, chosenColumn) > CONFIG.columnLinkMetres - 0.5) {
      var unit = chosenColumn.unit_id;
      clearColumn(false);
      columnStatus.textContent = t('columnMovedAway', {unit: unit, metres: CONFIG.columnLinkMetres});
    }
    findColumns(point);
  }

  function findColumns(point) {
    var zones = columnZonesAt(point);
    var ticket = ++columnTicket;
    showColumnNumberField(point);
    if (!zones.length) { listColumns([]); return; }
    Promise.all(zones.map(function (zone) {
      var url = CONFIG.apiRoot + '/zones/' + encodeURIComponent(zone.id) + '/columns/near?' +
        new URLSearchParams({lon: point.lon, lat: point.lat, radius: CONFIG.columnRadius}).toString();
      return fetch(url, {credentials: 'same-origin', headers: {Accept: 'application/geo+json, application/json'}})
        .then(function (response) { return response.ok ? response.json() : {features: []}; })
        .then(function (body) { return (body && body.features) || []; }, function () { return []; });
    })).then(function (answers) {
      if (ticket !== columnTicket) { return; }
      var found = [].concat.apply([], answers).map(function (feature) {
        var properties = feature.properties || {}, coordinates = (feature.geometry || {}).coordinates || [];
        return {unit_id: String(properties.unit_id), distance_m: Number(properties.distance_m) || 0,
                location: properties.location, lon: Number(coordinates[0]), lat: Number(coordinates[1])};
      }).filter(function (column) { return isFinite(column.lon) && isFinite(column.lat); });
      found.sort(function (a, b) { return a.distance_m - b.distance_m; });
      listColumns(found.slice(0, 50));
      if (found.length && map && map.getZoom() < 17) { map.setView([point.lat, point.lon], 18); }
    });
  }

  // The typed column number: where the pin has an inventory, or with no pin yet (the number alone says where).
  function showColumnNumberField(point) {
    document.getElementById('column-by-hand').hidden = !!point && !columnZonesAt(point).length;
  }

  function columnNumberTyped() {
    return !!columnInput && !document.getElementById('column-by-hand').hidden && !!columnInput.value.trim();
  }

  function columnLabel(column) {
    var values = {unit: column.unit_id, metres: Math.round(column.distance_m), location: column.location};
    return t(column.location ? 'columnOptionAt' : 'columnOption', values);
  }

  // The columns near the pin, as radio buttons and as numbered markers; every value from the server via textContent.
  function listColumns(columns) {
    columnsListed.forEach(function (column) { column.radio.closest('.choice').remove(); });
    if (columnMarkers) { columnMarkers.clearLayers(); }
    columnsListed = columns;
    columnPicker.hidden = !columns.length;
    columns.forEach(function (column, index) {
      var choice = element('div', 'choice');
      var radio = element('input');
      radio.type = 'radio';
      radio.name = 'column_pick';
      radio.id = 'column-pick-' + index;
      radio.value = column.unit_id;
      var label = element('label');
      label.htmlFor = radio.id;
      var badge = element('span', 'column-badge', index + 1);
      badge.setAttribute('aria-hidden', 'true');
      label.appendChild(badge);
      label.appendChild(document.createTextNode(columnLabel(column)));
      choice.appendChild(radio);
      choice.appendChild(label);
      columnChoices.appendChild(choice);
      column.radio = radio;
      if (map) {
        var dot = element('span', 'column-marker-dot', index + 1);
        // keyboard: false: fifty extra Tab stops on the map would help no one; the radio buttons are the keyboard way.
        column.marker = L.marker([column.lat, column.lon], {
          keyboard: false, title: t('columnMarker', {unit: column.unit_id}),
          icon: L.divIcon({className: 'column-marker', iconSize: [44, 44], iconAnchor: [22, 22], html: dot})});
        column.marker.on('click', function () { chooseColumn(column); });
        columnMarkers.addLayer(column.marker);
      }
    });
    var typed = columnInput.value.trim();
    var match = columns.filter(function (column) { return column.unit_id === typed; })[0];
    if (match) { markChosen(match); } else { markChosen(null); }
    if (!typed) { columnStatus.textContent = columns.length ? t('columnsFound', {count: columns.length}) : ''; }
  }

  // Reflect the chosen column (or none) in the radio buttons and the markers.
  function markChosen(chosen) {
    var none = document.getElementById('column-pick-none');
    none.checked = !chosen;
    columnsListed.forEach(function (column) {
      var isIt = !!chosen && column.unit_id === chosen.unit_id;
      column.radio.checked = isIt;
      var icon = column.marker && column.marker.getElement();
      if (icon) { icon.classList.toggle('column-marker--chosen', isIt); }
      if (column.marker) { column.marker.setZIndexOffset(isIt ? 500 : 0); }
    });
    columnClear.hidden = !columnInput.value.trim();
  }

  function chooseColumn(column) {
    chosenColumn = {unit_id: column.unit_id, lon: column.lon, lat: column.lat};
    columnInput.value = column.unit_id;
    setPin(column.lat, column.lon, 'column');
    markChosen(column);
    columnStatus.textContent = t('columnSelected', {unit: column.unit_id});
  }

  function clearColumn(announce) {
    chosenColumn = null;
    columnInput.value = '';
    markChosen(null);
    if (announce) { columnStatus.textContent = STRINGS.columnCleared; }
  }

  function startColumns() {
    if (!columnPicker || !columnInput) { return; }
    columnsStarted = true;
    if (map) { columnMarkers = L.layerGroup().addTo(map); }
    columnChoices.addEventListener('change', function (event) {
      var radio = event.target;
      if (radio.name !== 'column_pick') { return; }
      var column = columnsListed.filter(function (listed) { return listed.radio === radio; })[0];
      if (column) { chooseColumn(column); } else { clearColumn(true); }
    });
    columnClear.addEventListener('click', function () {
      clearColumn(true);
      document.getElementById(columnPicker.hidden ? 'column' : 'column-pick-none').focus();
    });
    columnInput.addEventListener('input', function () {  // a number typed from the plate
      var typed = columnInput.value.trim();
      var match = columnsListed.filter(function (column) { return column.unit_id === typed; })[0];
      chosenColumn = match ? {unit_id: match.unit_id, lon: match.lon, lat: match.lat} : null;
      markChosen(match || null);
      columnStatus.textContent = match ? t('columnSelected', {unit: match.unit_id}) : '';
    });
    var point = currentPoint();
    showColumnNumberField(point);
    if (point) { findColumns(point); }
  }

  // -- description counter and photo -----------------------------------------------------------------------------

  function startCounter() {
    var textarea = document.getElementById('description');
    var counter = document.getElementById('description-counter');
    var live = document.getElementById('description-counter-live');
    if (!textarea || !counter) { return; }
    var limit = CONFIG.maxDescription;
    var timer = null;
    function text() {
      var left = limit - textarea.value.length;
      return left >= 0 ? t('charactersLeft', {count: left}) : t('charactersOver', {count: -left});
    }
    function update() {
      counter.textContent = text();
      counter.classList.toggle('counter--over', textarea.value.length > limit);
      // Screen readers hear the count once typing pauses, not on every key.
      clearTimeout(timer);
      timer = setTimeout(function () { live.textContent = text(); }, 1000);
    }
    counter.hidden = false;
    counter.textContent = text();
    textarea.addEventListener('input', update);
  }

  var exifrLoading = null;
  function loadExifr() {
    if (window.exifr) { return Promise.resolve(window.exifr); }
    if (!exifrLoading) {
      exifrLoading = new Promise(function (resolve, reject) {
        var script = document.createElement('script');
        script.src = CONFIG.exifrUrl;
        script.onload = function () { resolve(window.exifr); };
        script.onerror = function () { exifrLoading = null; reject(new Error('exifr did not load')); };
        document.head.appendChild(script);
      });
    }
    return exifrLoading;
  }

  function photoChosen() {
    var input = document.getElementById('photo');
    var file = input.files && input.files[0];
    clearMarks();
    document.getElementById('photo-location').hidden = true;
    photoPoint = null;
    if (!file) { return; }
    if (['image/jpeg', 'image/png', 'image/webp'].indexOf(file.type) < 0) {
      markField('photo', STRINGS.photoWrongType);
      input.value = '';
      return;
    }
    if (file.size > CONFIG.maxPhotoBytes) {
      markField('photo', t('photoTooBig', {size: (file.size / 1048576).toFixed(1)}));
      input.value = '';
      return;
    }
    if (currentPoint()) { return; }  // the resident has already said where
    loadExifr().then(function (library) { return library.gps(file); }).then(function (gps) {
      if (!gps || !isFinite(gps.latitude) || !isFinite(gps.longitude) || currentPoint()) { return; }
      photoPoint = {lat: gps.latitude, lon: gps.longitude};
      document.getElementById('photo-location').hidden = false;
    }).catch(function () { /* no readable location in the photo: nothing to offer */ });
  }

  function usePhotoLocation() {
    if (!photoPoint) { return; }
    setPin(photoPoint.lat, photoPoint.lon, 'photo');
    if (map) { map.setView([photoPoint.lat, photoPoint.lon], 18); }
    document.getElementById('gps-status').textContent = STRINGS.photoLocationUsed;
  }

  // -- drafts in IndexedDB ---------------------------------------------------------------------------------------

  function openDb() {
    return new Promise(function (resolve, reject) {
      if (!window.indexedDB) { reject(new Error('no IndexedDB')); return; }
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () { request.result.createObjectStore(STORE, {keyPath: 'client_id'}); };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function withStore(mode, use) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var transaction = db.transaction(STORE, mode);
        var request = use(transaction.objectStore(STORE));
        transaction.oncomplete = function () { db.close(); resolve(request ? request.result : undefined); };
        transaction.onerror = transaction.onabort = function () { db.close(); reject(transaction.error); };
      });
    });
  }

  function saveDraft(draft) { return withStore('readwrite', function (store) { return store.put(draft); }); }
  function deleteDraft(clientId) { return withStore('readwrite', function (store) { return store.delete(clientId); }); }
  function allDrafts() {
    return withStore('readonly', function (store) { return store.getAll(); }).catch(function () { return []; });
  }

  // What the form holds now, as a draft that can be stored and sent later: text fields and the photo as a Blob.
  function collectDraft() {
    var fields = [], photo = null, photoName = '';
    new FormData(form).forEach(function (value, name) {
      if (name === 'column_pick') { return; }  // the picker's radios only fill in `column`
      if (typeof value === 'string') { fields.push([name, value]); }
      else if (value && value.size) { photo = value; photoName = value.name || 'photo'; }
    });
    return {client_id: clientIdInput.value, action: form.action, fields: fields, photo: photo, photoName: photoName,
            kind: CONFIG.kind, created: new Date().toISOString()};
  }

  // -- sending ---------------------------------------------------------------------------------------------------

  function readError(response) {
    return response.json().then(function (body) {
      return (body && body.error) || {code: 'http_' + response.status, message: response.statusText};
    }, function () { return {code: 'http_' + response.status, message: response.statusText}; });
  }

  function freshToken() {
    return fetch(CONFIG.tokenUrl, {credentials: 'same-origin', headers: {Accept: 'application/json'}})
      .then(function (response) { if (!response.ok) { throw new Error('token ' + response.status); } return response.json(); })
      .then(function (body) { return body.csrf_token; });
  }

  // Resolves to {outcome: 'done', body} | {outcome: 'network'} | {outcome: 'refused', status, error} | {outcome: 'server'}.
  function send(draft, retried) {
    var body = new FormData();
    draft.fields.forEach(function (pair) { body.append(pair[0], pair[1]); });
    if (draft.photo) { body.append('photo', draft.photo, draft.photoName || 'photo'); }
    sending[draft.client_id] = true;
    return fetch(draft.action || form.action, {method: 'POST', body: body, credentials: 'same-origin',
                                               headers: {Accept: 'application/json'}})
      .then(function (response) {
        if (response.status === 200 || response.status === 201) {
          return response.json().then(function (json) { return {outcome: 'done', body: json}; });
        }
        if (response.status >= 500) { return {outcome: 'server', status: response.status}; }
        return readError(response).then(function (error) {
          if (response.status === 400 && error.code === 'csrf' && !retried) {
            // The token was missing or has expired (a draft kept for hours): fetch a fresh one and try once more.
            return freshToken().then(function (token) {
              draft.fields = draft.fields.filter(function (pair) { return pair[0] !== 'csrf_token'; });
              draft.fields.push(['csrf_token', token]);
              form.elements.namedItem('csrf_token').value = token;
              return send(draft, true);
            }, function () { return {outcome: 'network'}; });
          }
          if (response.status === 413) { error.message = STRINGS.tooLarge; }
          return {outcome: 'refused', status: response.status, error: error};
        });
      }, function () { return {outcome: 'network'}; })
      .then(function (result) { delete sending[draft.client_id]; return result; },
            function (error) { delete sending[draft.client_id]; throw error; });
  }

  function showDone(body) {
    form.hidden = true;
    document.getElementById('duplicates').hidden = true;
    var done = document.getElementById('report-done');
    document.getElementById('done-ref').textContent = body.ref;
    document.getElementById('done-link').href = body.tracking_url;
    done.hidden = false;
    done.focus();
  }

  function refused(result, fromDraft) {
    var error = result.error || {};
    var message = error.message || String(result.status);
    if (error.field && error.code !== 'outside_zone') { markField(error.field, message); }
    showAlert(fromDraft ? t('draftRefused', {message: message}) : t('failed', {message: message}));
    var control = error.field && document.getElementById(error.field);
    if (control) {
      var folded = control.closest('details');
      if (folded) { folded.open = true; }  // the typed position and column number live there, folded away
      if (!fromDraft) { control.focus(); }
    } else if (!fromDraft) {
      // No field to blame (too many reports, the area's budget): the alert is at the top of a long form, far from
      // the Send button just pressed, so take the resident there (it has tabindex=-1).
      alertRegion.focus();
    }
  }

  function keepOnPhone(draft, message) {
    return saveDraft(draft).then(function () {
      showStatus(message);
      return refreshWaiting();
    }, function () {
      showAlert(t('failed', {message: message}));
    });
  }

  function submitReport() {
    var draft = collectDraft();
    if (!navigator.onLine) { return keepOnPhone(draft, STRINGS.savedOffline); }
    setBusy(true);
    showStatus(STRINGS.sending);
    return send(draft).then(function (result) {
      setBusy(false);
      if (result.outcome === 'done') {
        showStatus('');
        showDone(result.body);
        return deleteDraft(draft.client_id).catch(function () {}).then(refreshWaiting);
      }
      if (result.outcome === 'network') { return keepOnPhone(draft, STRINGS.savedOffline); }
      if (result.outcome === 'server') { return keepOnPhone(draft, STRINGS.serverError); }
      showStatus('');
      refused(result, false);
    });
  }

  var flushing = false;
  function flushDrafts() {
    if (flushing || !navigator.onLine) { return Promise.resolve(); }
    flushing = true;
    return allDrafts().then(function (drafts) {
      var chain = Promise.resolve(true);
      drafts.forEach(function (draft) {
        chain = chain.then(function (goOn) {
          if (!goOn || sending[draft.client_id]) { return goOn; }
          return send(draft).then(function (result) {
            if (result.outcome === 'done') {
              return deleteDraft(draft.client_id).then(function () {
                showStatus(t('draftSent', {ref: result.body.ref}), result.body.tracking_url);
                if (draft.client_id === clientIdInput.value) { showDone(result.body); }
                return true;
              });
            }
            if (result.outcome === 'refused') { refused(result, true); return true; }  // kept: the resident decides
            return false;  // offline again, or the server is struggling: try on the next 'online' or page load
          });
        });
      });
      return chain;
    }).catch(function () {}).then(function () { flushing = false; return refreshWaiting(); });
  }

  function refreshWaiting() {
    return allDrafts().then(function (drafts) {
      var waiting = document.getElementById('drafts-waiting');
      if (!waiting) {
        waiting = element('p', 'drafts-waiting');
        waiting.id = 'drafts-waiting';
        statusRegion.parentNode.insertBefore(waiting, statusRegion.nextSibling);
      }
      waiting.textContent = drafts.length ? t('draftsWaiting', {count: drafts.length}) : '';
      waiting.hidden = !drafts.length;
    });
  }

  function setBusy(busy) {
    submitButton.disabled = busy;
    form.setAttribute('aria-busy', busy ? 'true' : 'false');
  }

  // -- duplicates ------------------------------------------------------------------------------------------------

  function age(iso) {
    var then = new Date(iso).getTime();
    if (!isFinite(then)) { return ''; }
    var seconds = (then - Date.now()) / 1000;
    var units = [['year', 31536000], ['month', 2592000], ['week', 604800], ['day', 86400], ['hour', 3600], ['minute', 60]];
    var format = window.Intl && Intl.RelativeTimeFormat ?
      new Intl.RelativeTimeFormat(document.documentElement.lang || 'en-GB', {numeric: 'auto'}) : null;
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(seconds) >= units[i][1] || i === units.length - 1) {
        var amount = Math.round(seconds / units[i][1]);
        return format ? format.format(amount, units[i][0]) : new Date(iso).toLocaleDateString();
      }
    }
    return '';
  }

  function duplicateKey(point) {
    return point.lat.toFixed(6) + ',' + point.lon.toFixed(6) + ',' + category();
  }

  // Resolves to {candidates: [...]} | {outside: message} | {skip: true} (offline or the check failed: send anyway).
  function checkNearby(point) {
    var url = CONFIG.apiRoot + '/nearby?' + new URLSearchParams({lon: point.lon, lat: point.lat, layer: CONFIG.layer,
      category: category(), radius: CONFIG.duplicateRadius}).toString();
    return fetch(url, {credentials: 'same-origin', headers: {Accept: 'application/geo+json, application/json'}})
      .then(function (response) {
        if (response.ok) {
          return response.json().then(function (body) { return {candidates: (body && body.features) || []}; });
        }
        return readError(response).then(function (error) {
          if (error.code === 'outside_zone') { return {outside: error.message}; }
          if (response.status === 422 || response.status === 400) { return {refused: error}; }
          return {skip: true};
        });
      }, function () { return {skip: true}; });
  }

  function showDuplicates(candidates) {
    var list = document.getElementById('duplicates-list');
    list.textContent = '';
    candidates.forEach(function (feature, index) {
      list.appendChild(CONFIG.kind === 'asset' ? assetCandidate(feature, index) : reportCandidate(feature, index));
    });
    form.hidden = true;
    var section = document.getElementById('duplicates');
    section.hidden = false;
    section.focus();
  }

  // An open fault nearby: the resident can confirm it, which counts as another report of the same fault.
  function reportCandidate(feature, index) {
    var properties = feature.properties || {};
    var item = element('li', 'candidate');
    var heading = element('h3', null, CONFIG.categories[properties.category] || properties.category);
    heading.id = 'candidate-' + index;
    item.appendChild(heading);
    item.appendChild(element('p', 'candidate-description', properties.description || STRINGS.noDescription));
    var facts = [t('metresAway', {metres: Math.round(properties.distance_m || 0)})];
    if (properties.created) { facts.push(t('reported', {age: age(properties.created)})); }
    item.appendChild(element('p', 'candidate-facts', facts.join(' · ')));
    var button = element('button', 'button button--primary', STRINGS.thisIsIt);
    button.type = 'button';
    button.setAttribute('aria-describedby', heading.id);
    button.addEventListener('click', function () { confirmExisting(feature, button); });
    item.appendChild(button);
    return item;
  }

  // A published asset of the same kind nearby: nothing to confirm, so the contributor opens its page instead.
  function assetCandidate(feature, index) {
    var properties = feature.properties || {};
    var item = element('li', 'candidate');
    var heading = element('h3', null, properties.name || CONFIG.categories[properties.category] || properties.category);
    heading.id = 'candidate-' + index;
    item.appendChild(heading);
    var about = [CONFIG.categories[properties.category] || properties.category];
    if (properties.address) { about.push(properties.address); }
    item.appendChild(element('p', 'candidate-description', about.join(' · ')));
    item.appendChild(element('p', 'candidate-facts', t('metresAway', {metres: Math.round(properties.distance_m || 0)})));
    if (properties.ref) {  // every asset added through the page or the CLI has one; an older import may not
      var link = element('a', 'button button--primary', STRINGS.openExisting);
      link.href = CONFIG.trackingRoot + encodeURIComponent(properties.ref);
      link.setAttribute('aria-describedby', heading.id);
      item.appendChild(link);
    }
    return item;
  }

  function confirmExisting(feature, button) {
    var properties = feature.properties || {};
    var url = CONFIG.apiRoot + '/zones/' + encodeURIComponent(properties.zone) + '/' + encodeURIComponent(CONFIG.layer) +
      '/' + encodeURIComponent(properties.id) + '/confirm';
    button.disabled = true;
    showAlert('');
    fetch(url, {method: 'POST', credentials: 'same-origin',
                headers: {'Content-Type': 'application/json', Accept: 'application/json',
                          'X-CSRFToken': form.elements.namedItem('csrf_token').value},
                body: JSON.stringify({client_id: clientIdInput.value})})
      .then(function (response) {
        if (!response.ok) { return readError(response).then(function (error) { throw new Error(error.message); }); }
        return response.json();
      })
      .then(function (body) {
        showStatus(STRINGS.confirmed);
        window.location.assign(body.tracking_url);
      })
      .catch(function (error) {
        button.disabled = false;
        showAlert(t('failed', {message: error.message}));
      });
  }

  function backToForm() {
    document.getElementById('duplicates').hidden = true;
    form.hidden = false;
    submitButton.focus();
  }

  // -- submit ----------------------------------------------------------------------------------------------------

  function onSubmit(event) {
    event.preventDefault();
    if (submitButton.disabled) { return; }
    showAlert('');
    clearMarks();
    var point = currentPoint();
    var inWords = (form.elements.namedItem('location_text').value || '').trim() && form.elements.namedItem('zone').value;
    var described = inWords || columnNumberTyped();
    if (!point && !described) {
      showAlert(STRINGS.needLocation);
      document.getElementById('use-gps').focus();
      return;
    }
    // Without a category there is nothing of "the same kind" to look for: the server names the missing field.
    if (!point || !category() || !navigator.onLine || answeredDuplicates === duplicateKey(point)) {
      submitReport();
      return;
    }
    setBusy(true);
    showStatus(CONFIG.kind === 'asset' ? STRINGS.checkingMap : STRINGS.checking);
    checkNearby(point).then(function (result) {
      setBusy(false);
      showStatus('');
      if (result.outside) { showAlert(result.outside); return; }
      if (result.refused) { refused({error: result.refused}, false); return; }
      if (result.candidates && result.candidates.length) {
        answeredDuplicates = null;
        showDuplicates(result.candidates);
        return;
      }
      submitReport();
    });
  }

  // -- start -----------------------------------------------------------------------------------------------------

  if (!clientIdInput.value) { clientIdInput.value = uuid(); }  // made with the draft; it travels with it
  Array.prototype.forEach.call(document.querySelectorAll('.js-only'), function (node) { node.hidden = false; });
  var byHand = document.getElementById('by-hand');
  if (byHand && !byHand.querySelector('.field--error')) { byHand.open = false; }

  startMap();
  startColumns();
  startCounter();
  document.getElementById('use-gps').addEventListener('click', locate);
  document.getElementById('photo').addEventListener('change', photoChosen);
  document.getElementById('use-photo-location').addEventListener('click', usePhotoLocation);
  [latInput, lonInput].forEach(function (input) {
    input.addEventListener('change', function () {
      var point = currentPoint();
      if (point) { setPin(point.lat, point.lon, 'inputs'); if (map) { map.setView([point.lat, point.lon], 17); } }
    });
  });
  document.getElementById('not-duplicate').addEventListener('click', function () {
    var point = currentPoint();
    answeredDuplicates = point ? duplicateKey(point) : null;
    document.getElementById('duplicates').hidden = true;
    form.hidden = false;
    submitReport();
  });
  document.getElementById('back-to-form').addEventListener('click', backToForm);
  form.addEventListener('submit', onSubmit);
  window.addEventListener('online', flushDrafts);
  refreshWaiting().then(flushDrafts);

  // For tests and for people debugging on a phone: what is waiting to be sent.
  window.reportPage = {drafts: allDrafts, flush: flushDrafts};
}());
